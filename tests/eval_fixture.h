/*
 * eval_fixture: what the eval suites (check_eval, check_eval_commands)
 * share: a small problem, its net and a double-precision reference of
 * its figures.
 */
#ifndef MLPTRAIN_EVAL_FIXTURE_H
#define MLPTRAIN_EVAL_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/loader.h"
#include "mlptrain/net.h"

/* A 3x4-pixel, 4-class problem: 12 -> 5 (tanh) -> 4; 23 samples. */
enum { ROWS = 3, COLS = 4, IN = ROWS * COLS, HID = 5, C = 4, N = 23 };

typedef struct {
    float w1[HID * IN], b1[HID], w2[C * HID], b2[C];
    uint8_t images[N * IN], labels[N];
    mlp_split_t split;
} fixture_t;

/* The problem's weights, images and labels drawn from seed; f->split
 * views them. */
void make_fixture(fixture_t *f, uint64_t seed);

/* The problem's net (IN -> HID tanh -> C, one thread), no batch size. */
void fixture_spec(mlp_net_spec_t *spec);

/* The fixture's net, prepared for each batch size in `batches` over N. */
mlp_net_t *make_net(const fixture_t *f, const size_t *batches,
                    size_t nb);

/* The reference: logits in double, argmax, loss, confusion, per sample. */
typedef struct {
    double loss;               /* mean */
    size_t correct;
    size_t confusion[C * C];
    int32_t pred[N];
    double min_gap;            /* smallest top-1 minus top-2 logit */
} ref_t;

void reference(const fixture_t *f, ref_t *r);

#endif
