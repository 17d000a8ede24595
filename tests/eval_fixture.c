/*
 * eval_fixture: see eval_fixture.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/error.h"
#include "mlptrain/rng.h"
#include "testutil.h"
#include "eval_fixture.h"

void make_fixture(fixture_t *f, uint64_t seed)
{
    mlp_rng_t r;

    mlp_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < HID * IN; i++)
        f->w1[i] = (float)mlp_rng_normal(&r);
    for (size_t i = 0; i < HID; i++)
        f->b1[i] = (float)(0.1 * mlp_rng_normal(&r));
    for (size_t i = 0; i < C * HID; i++)
        f->w2[i] = (float)(2.0 * mlp_rng_normal(&r));
    for (size_t i = 0; i < C; i++)
        f->b2[i] = (float)(0.1 * mlp_rng_normal(&r));
    for (size_t i = 0; i < N * IN; i++)
        f->images[i] = (uint8_t)(mlp_rng_u64(&r) & 0xff);
    for (size_t i = 0; i < N; i++)
        f->labels[i] = (uint8_t)(mlp_rng_u64(&r) % C);
    f->labels[N - 1] = C - 1; /* the class count comes from the labels */
    f->split = (mlp_split_t){.n = N, .dim = IN, .images = f->images,
                             .labels = f->labels};
}

void fixture_spec(mlp_net_spec_t *spec)
{
    memset(spec, 0, sizeof(*spec));
    spec->in = IN;
    spec->out = C;
    spec->nhidden = 1;
    spec->hidden[0] = HID;
    spec->act = MLP_ACT_TANH;
    spec->threads = 1;
}

/* The fixture's net, prepared for each batch size in `batches` over N. */
mlp_net_t *make_net(const fixture_t *f, const size_t *batches,
                    size_t nb)
{
    mlp_net_spec_t spec;
    mlp_net_t *net = NULL;

    fixture_spec(&spec);
    for (size_t i = 0; i < nb; i++)
        mlp_net_spec_add_split(&spec, N, batches[i]);
    ck_assert_int_eq(mlp_net_create(&spec, &net), 0);
    ck_assert_int_eq(mlp_net_set_layer(net, 0, f->w1, f->b1), 0);
    ck_assert_int_eq(mlp_net_set_layer(net, 1, f->w2, f->b2), 0);
    return net;
}

void reference(const fixture_t *f, ref_t *r)
{
    memset(r, 0, sizeof(*r));
    r->min_gap = INFINITY;
    for (size_t s = 0; s < N; s++) {
        double x[IN], h[HID], z[C], mx, sum = 0.0, second = -INFINITY;
        size_t p = 0;

        for (size_t i = 0; i < IN; i++)
            x[i] = f->images[s * IN + i] / 255.0;
        for (size_t j = 0; j < HID; j++) {
            double a = f->b1[j];

            for (size_t i = 0; i < IN; i++)
                a += (double)f->w1[j * IN + i] * x[i];
            h[j] = tanh(a);
        }
        for (size_t k = 0; k < C; k++) {
            double a = f->b2[k];

            for (size_t j = 0; j < HID; j++)
                a += (double)f->w2[k * HID + j] * h[j];
            z[k] = a;
            if (a > z[p])
                p = k;
        }
        mx = z[p];
        for (size_t k = 0; k < C; k++) {
            sum += exp(z[k] - mx);
            if (k != p && z[k] > second)
                second = z[k];
        }
        if (mx - second < r->min_gap)
            r->min_gap = mx - second;
        r->loss += mx + log(sum) - z[f->labels[s]];
        r->pred[s] = (int32_t)p;
        r->correct += p == f->labels[s];
        r->confusion[f->labels[s] * C + p]++;
    }
    r->loss /= N;
}
