/*
 * eval_render: what `eval` and `predict` show (see eval_render.h): text
 * tables, JSON objects, terminal pictures of images and the predict PNG
 * (a gnuplot multiplot drawn by plot.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mlptrain/error.h"
#include "mlptrain/eval_render.h"
#include "mlptrain/plot.h"
#include "mlptrain/report.h"

/* ---- eval ---------------------------------------------------------- */

/* "model    m.ckpt: 144-24-7 relu, 3 epochs" (+ batches of a save made
 * mid-epoch, on interrupt). */
void mlp_eval_print_model(FILE *out, const char *path,
                          const mlp_checkpoint_t *ck,
                          mlp_precision_t precision)
{
    char shape[MLP_MAX_HIDDEN * 24 + 48];

    fprintf(out, "model    %s: %s %s, %u epoch%s", path,
            mlp_net_shape_str(shape, sizeof(shape), ck->in, ck->hidden,
                              ck->nhidden, ck->out),
            mlp_net_act_label(ck->act, ck->nhidden), ck->epoch,
            ck->epoch == 1 ? "" : "s");
    if (ck->batches_done > 0)
        fprintf(out, " and %zu batch%s", ck->batches_done,
                ck->batches_done == 1 ? "" : "es");
    if (precision == MLP_PREC_BF16)
        fputs(", run in bf16", out);
    fputc('\n', out);
}

/* ---- JSON, built whole by jansson -------------------------------- */

/* Every figure with 9 significant digits (a float round-trips). */
#define RENDER_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | \
                           JSON_REAL_PRECISION(9))

/* Takes doc (NULL: building it ran out of memory): one line to out. */
static int dump_json(FILE *out, json_t *doc)
{
    int rc = 0;

    if (doc == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory for the JSON "
                             "output");
    if (json_dumpf(doc, out, RENDER_JSON_FLAGS) != 0 ||
        fputc('\n', out) == EOF)
        rc = mlp_error_set(MLP_EIO, "cannot write the JSON output");
    json_decref(doc);
    return rc;
}

/* Append v (a new reference, NULL: out of memory) to array a; a NULL a
 * stays NULL, and a failed append frees a. */
static json_t *push(json_t *a, json_t *v)
{
    if (a != NULL && (v == NULL || json_array_append_new(a, v) != 0)) {
        json_decref(a);
        return NULL;
    }
    if (a == NULL)
        json_decref(v);
    return a;
}

/* Set key of object o to v, with push's rules. */
static json_t *put(json_t *o, const char *key, json_t *v)
{
    if (o != NULL && (v == NULL || json_object_set_new(o, key, v) != 0)) {
        json_decref(o);
        return NULL;
    }
    if (o == NULL)
        json_decref(v);
    return o;
}

/* "precision", "recall", "f1" as members of o. */
static json_t *put_prf(json_t *o, const mlp_prf_t *m)
{
    o = put(o, "precision", json_real(m->precision));
    o = put(o, "recall", json_real(m->recall));
    return put(o, "f1", json_real(m->f1));
}

static json_t *class_list(const mlp_class_names_t *cn, size_t c)
{
    json_t *a = json_array();

    for (size_t k = 0; k < c; k++)
        a = push(a, mlp_report_json_text(cn->names[k]));
    return a;
}

/* {"model":..,"epochs":E,"products":P,"data":..: the head both commands
 * share; P is the precision the net ran in. */
static json_t *json_head(const char *model, const char *data_dir,
                         const mlp_checkpoint_t *ck,
                         mlp_precision_t precision)
{
    json_t *o = json_object();

    o = put(o, "model", mlp_report_json_text(model));
    o = put(o, "epochs", json_integer((json_int_t)ck->epoch));
    o = put(o, "products", json_string(mlp_precision_names[
                               precision == MLP_PREC_BF16]));
    return put(o, "data", mlp_report_json_text(data_dir));
}

int mlp_eval_print_json(FILE *out, const char *model, const char *data_dir,
                        const mlp_checkpoint_t *ck,
                        mlp_precision_t precision,
                        const mlp_eval_result_t *r,
                        const mlp_class_names_t *cn)
{
    size_t c = r->nclasses;
    json_t *o = json_head(model, data_dir, ck, precision), *m = json_array();
    json_t *pc = json_array();

    o = put(o, "samples", json_integer((json_int_t)r->n));
    o = put(o, "correct", json_integer((json_int_t)r->correct));
    o = put(o, "accuracy", json_real(r->acc));
    o = put(o, "loss", isfinite(r->loss) ? json_real(r->loss) : json_null());
    o = put(o, "classes", class_list(cn, c));
    for (size_t i = 0; i < c; i++) {
        json_t *row = json_array();

        for (size_t j = 0; j < c; j++)
            row = push(row, json_integer((json_int_t)r->confusion[i * c + j]));
        m = push(m, row);
    }
    o = put(o, "confusion", m);
    for (size_t k = 0; k < c; k++) {
        size_t t = mlp_eval_class_total(r, k);
        size_t ok = mlp_eval_class_correct(r, k);
        json_t *e = json_object();

        e = put(e, "class", mlp_report_json_text(cn->names[k]));
        e = put(e, "samples", json_integer((json_int_t)t));
        e = put(e, "correct", json_integer((json_int_t)ok));
        e = put(e, "accuracy", t > 0 ? json_real((double)ok / (double)t)
                                     : json_null());
        pc = push(pc, put_prf(e, &r->prf[k]));
    }
    o = put(o, "per_class", pc);
    o = put(o, "macro", put_prf(json_object(), &r->macro));
    return dump_json(out, o);
}

static int digits(size_t v)
{
    int d = 1;

    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* Column j of the matrix: as wide as its name and its largest count. */
static int column_width(const mlp_eval_result_t *r,
                        const mlp_class_names_t *cn, size_t j)
{
    size_t c = r->nclasses, mx = 0;
    int w = (int)strlen(cn->names[j]);

    for (size_t i = 0; i < c; i++)
        if (r->confusion[i * c + j] > mx)
            mx = r->confusion[i * c + j];
    w = w > digits(mx) ? w : digits(mx);
    return w < 3 ? 3 : w;
}

void mlp_eval_print_text(FILE *out, const char *model,
                         const char *data_dir, const mlp_checkpoint_t *ck,
                         mlp_precision_t precision, const mlp_dataset_t *ds,
                            const mlp_eval_result_t *r,
                            const mlp_class_names_t *cn)
{
    size_t c = r->nclasses;
    int lw = 0;

    mlp_eval_print_model(out, model, ck, precision);
    if (ds->image)
        fprintf(out, "data     %s: %zu test samples%s, %zux%zu, %zu "
                "classes\n", data_dir, ds->test.n,
                ds->test.n < ds->test_total ? " (limited)" : "", ds->rows,
                ds->cols, ds->nclasses);
    else /* rows of features (dataset.h) */
        fprintf(out, "data     %s: %zu test samples%s, %zu features, %zu "
                "classes\n", data_dir, ds->test.n,
                ds->test.n < ds->test_total ? " (limited)" : "",
                ds->test.dim, ds->nclasses);
    fprintf(out, "test     loss %.4f  acc %.4f  (%zu of %zu right)\n",
            r->loss, r->acc, r->correct, r->n);

    for (size_t k = 0; k < c; k++)
        if ((int)strlen(cn->names[k]) > lw)
            lw = (int)strlen(cn->names[k]);
    fputs("\nconfusion matrix (rows: true class, columns: predicted class)\n",
          out);
    fprintf(out, "%*s", lw, "");
    for (size_t j = 0; j < c; j++)
        fprintf(out, " %*s", column_width(r, cn, j), cn->names[j]);
    fputc('\n', out);
    for (size_t i = 0; i < c; i++) {
        fprintf(out, "%*s", lw, cn->names[i]);
        for (size_t j = 0; j < c; j++)
            fprintf(out, " %*zu", column_width(r, cn, j),
                    r->confusion[i * c + j]);
        fputc('\n', out);
    }

    fputs("\nper-class accuracy\n", out);
    for (size_t k = 0; k < c; k++) {
        size_t t = mlp_eval_class_total(r, k);
        size_t ok = mlp_eval_class_correct(r, k);

        if (t > 0)
            fprintf(out, "  %-*s  %.4f  (%zu of %zu)\n", lw, cn->names[k],
                    (double)ok / (double)t, ok, t);
        else
            fprintf(out, "  %-*s  -       (no samples)\n", lw, cn->names[k]);
    }

    /* Names at least as wide as "macro avg"; then 38 columns of figures. */
    lw = lw > 9 ? lw : 9;
    fputs("\nprecision, recall and F1 (0 for 0/0: never predicted, no "
          "samples)\n", out);
    fprintf(out, "  %-*s  %9s  %6s  %6s  %7s\n", lw, "class", "precision",
            "recall", "f1", "samples");
    for (size_t k = 0; k < c; k++)
        fprintf(out, "  %-*s  %9.4f  %6.4f  %6.4f  %7zu\n", lw, cn->names[k],
                r->prf[k].precision, r->prf[k].recall, r->prf[k].f1,
                mlp_eval_class_total(r, k));
    fprintf(out, "  %-*s  %9.4f  %6.4f  %6.4f  %7zu\n", lw, "macro avg",
            r->macro.precision, r->macro.recall, r->macro.f1, r->n);
}

/* ---- predict ------------------------------------------------------- */

/*
 * Value j of sample i as a gray level in [0, 255]: a byte as it is; a
 * decoded value (the loader's output that --show-train shows, a split of
 * features with its transform) as the model sees it, 0 to 1, scaled.
 */
static double gray(const mlp_split_t *s, size_t i, size_t j)
{
    double v;

    if (s->features == NULL)
        return s->images[i * s->dim + j];
    v = ((double)s->features[i * s->dim + j] - s->shift[j]) * s->scale[j];
    return v <= 0.0 ? 0.0 : v >= 1.0 ? 255.0 : v * 255.0;
}

/* Terminal rendering: two pixel rows per character, 10 levels. */
static const char ramp[] = " .:-=+*#%@";

static char shade(const mlp_split_t *s, size_t i, size_t rows, size_t cols,
                  size_t line, size_t x)
{
    double v = gray(s, i, 2 * line * cols + x);
    unsigned k = 1;

    if (2 * line + 1 < rows) {
        v += gray(s, i, (2 * line + 1) * cols + x);
        k = 2;
    }
    return ramp[(unsigned)(v / k) * 10 / 256];
}

/*
 * Line output without trailing blanks: blanks are held back and written
 * only when something follows them on the line.
 */
typedef struct {
    FILE *out;
    size_t blanks;
} line_t;

static void line_putc(line_t *l, char ch)
{
    if (ch == ' ') {
        l->blanks++;
        return;
    }
    for (; l->blanks > 0; l->blanks--)
        fputc(' ', l->out);
    fputc(ch, l->out);
}

/* s in exactly w columns: cut or padded. */
static void line_cell(line_t *l, const char *s, size_t w)
{
    size_t i = 0;

    for (; s[i] != '\0' && i < w; i++)
        line_putc(l, s[i]);
    for (; i < w; i++)
        line_putc(l, ' ');
}

static void line_end(line_t *l)
{
    l->blanks = 0;
    fputc('\n', l->out);
}

/*
 * The images side by side, as many as fit in 80 columns (at least one per
 * row), each under two caption lines: true label, predicted label (with
 * '*' when wrong).
 */
void mlp_predict_print_text(FILE *out, const mlp_dataset_t *ds,
                            const mlp_split_t *shown, size_t n,
                            const int32_t *pred, const mlp_class_names_t *cn)
{
    size_t rows = ds->rows, cols = ds->cols, lines = (rows + 1) / 2;
    size_t w = cols, capw = 0, per_row, right = 0;
    line_t l = {out, 0};
    char cap[128];

    for (size_t i = 0; i < n; i++) {
        size_t a = strlen(cn->names[shown->labels[i]]) + 6;
        size_t b = strlen(cn->names[pred[i]]) + 9;

        capw = a > capw ? a : capw;
        capw = b > capw ? b : capw;
    }
    if (capw > 30)
        capw = 30;
    w = w > capw ? w : capw;
    per_row = (80 + 2) / (w + 2);
    if (per_row == 0)
        per_row = 1;
    for (size_t first = 0; first < n; first += per_row) {
        size_t end = n - first < per_row ? n : first + per_row;

        line_end(&l);
        for (int k = 0; k < 2; k++) {
            for (size_t i = first; i < end; i++) {
                if (k == 0)
                    snprintf(cap, sizeof(cap), "true  %s",
                             cn->names[shown->labels[i]]);
                else
                    snprintf(cap, sizeof(cap), "pred  %s%s",
                             cn->names[pred[i]],
                             pred[i] != shown->labels[i] ? "  *" : "");
                line_cell(&l, cap, w);
                line_cell(&l, "", 2);
            }
            line_end(&l);
        }
        for (size_t y = 0; y < lines; y++) {
            for (size_t i = first; i < end; i++) {
                size_t x = 0;

                for (; x < cols; x++)
                    line_putc(&l, shade(shown, i, rows, cols, y, x));
                for (; x < w + 2; x++)
                    line_putc(&l, ' ');
            }
            line_end(&l);
        }
    }
    for (size_t i = 0; i < n; i++)
        right += pred[i] == shown->labels[i];
    fprintf(out, "\n%zu of %zu right\n", right, n);
}

/*
 * One picture: up to 10 images per row, each captioned with the true label
 * over the predicted one (red when wrong), gray palette, no axes.  Row 0 of
 * an image is drawn at the top (reversed y range), column 0 at the left.
 */
int mlp_predict_png(const char *path, const mlp_dataset_t *ds,
                    const mlp_split_t *shown, size_t n,
                    const int32_t *pred, const mlp_class_names_t *cn)
{
    enum { SIDE = 112, CELL_W = 140, CAP_H = 44, GAP = 12, PAD = 10 };
    size_t rows = ds->rows, cols = ds->cols, big = rows > cols ? rows : cols;
    size_t ncol = n < 10 ? n : 10, nrow = (n + 9) / 10;
    double iw = (double)SIDE * (double)cols / (double)big;
    double ih = (double)SIDE * (double)rows / (double)big;
    int width = (int)(ncol * CELL_W) + 2 * PAD;
    double row_h = CAP_H + ih + GAP; /* wide images take flatter rows */
    int height = (int)((double)nrow * row_h) + PAD + 22; /* + title */
    char *script = NULL;
    size_t len = 0;
    FILE *f;
    int rc;

    if ((f = open_memstream(&script, &len)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory for the plot of '%s'",
                             path);
    /* Class names are user text: in a datablock, never in the program
     * (plot.h); long ones are cut to what a cell holds. */
    mlp_plot_texts(f, "C", (const char *const *)cn->names, cn->n);
    fputs("cut(s) = strlen(s) > 17 ? s[1:16].'~' : s\n"
          "set multiplot title 'each image: true label (top) over the "
          "predicted one; red when wrong' font ',9'\n"
          "unset key\nunset tics\nunset border\n"
          "unset colorbox\nset palette gray\nset cbrange [0:255]\n", f);
    fprintf(f, "set xrange [-0.5:%zu.5]\nset yrange [%zu.5:-0.5]\n",
            cols - 1, rows - 1);
    for (size_t i = 0; i < n; i++) {
        size_t r = i / 10, c = i % 10;
        double x0 = PAD + (double)c * CELL_W + (CELL_W - iw) / 2;
        double y0 = PAD + 22 + (double)r * row_h + CAP_H;
        int wrong = pred[i] != shown->labels[i];

        fprintf(f, "$img%zu << EOD\n", i);
        for (size_t y = 0; y < rows; y++)
            for (size_t x = 0; x < cols; x++)
                fprintf(f, "%.6g%c", gray(shown, i, y * cols + x),
                        x + 1 < cols ? ' ' : '\n');
        fputs("EOD\n", f);
        fprintf(f,
                "set lmargin at screen %.5f\nset rmargin at screen %.5f\n"
                "set tmargin at screen %.5f\nset bmargin at screen %.5f\n",
                x0 / width, (x0 + iw) / width, 1.0 - y0 / height,
                1.0 - (y0 + ih) / height);
        fprintf(f, "set title sprintf(\"true: %%s\\npredicted: %%s\", "
                   "cut($C[%d][2:]), cut($C[%d][2:])) offset 0,-0.5 "
                   "noenhanced textcolor rgb \"%s\"\n",
                (int)shown->labels[i] + 1, (int)pred[i] + 1,
                wrong ? "#c00000" : "black");
        fprintf(f, "plot $img%zu matrix with image\n", i);
    }
    fputs("unset multiplot\n", f);
    if (fclose(f) != 0 || script == NULL) {
        free(script);
        return mlp_error_set(MLP_ENOMEM, "out of memory for the plot of '%s'",
                             path);
    }
    rc = mlp_plot_png(path, width, height, script);
    free(script);
    return rc;
}

/* --json: {"model":...,"epochs":E,"products":P,"data":...,"classes":[names],
 * "predictions":[{"index":i,"true":k,"predicted":k},...],"correct":N} */
int mlp_predict_print_json(FILE *out, const char *model,
                           const char *data_dir, const mlp_checkpoint_t *ck,
                           mlp_precision_t precision,
                           const mlp_dataset_t *ds,
                           const mlp_split_t *shown, size_t n,
                           const int32_t *pred,
                           const mlp_class_names_t *cn)
{
    json_t *o = json_head(model, data_dir, ck, precision),
           *a = json_array();
    size_t correct = 0;

    o = put(o, "classes", class_list(cn, ds->nclasses));
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_object();

        e = put(e, "index", json_integer((json_int_t)i));
        e = put(e, "true", json_integer((json_int_t)shown->labels[i]));
        e = put(e, "predicted", json_integer((json_int_t)pred[i]));
        a = push(a, e);
        correct += pred[i] == (int32_t)shown->labels[i];
    }
    o = put(o, "predictions", a);
    o = put(o, "correct", json_integer((json_int_t)correct));
    return dump_json(out, o);
}
