/*
 * cmd_export: `mlptrain export --model M (--onnx FILE | --npz FILE)`:
 * load a checkpoint, write the model as ONNX and/or NumPy .npz (export.h),
 * and say what was written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"
#include "mlptrain/export.h"

typedef struct {
    char model[MLP_PATH_MAX];
    char onnx[MLP_PATH_MAX]; /* "": none */
    char npz[MLP_PATH_MAX];
    const char *class_names; /* NULL: the model's, else 0..C-1 */
} export_opts_t;

static const mlp_option_t opt_model = MLP_CLI_MODEL(export_opts_t, model);
/* --onnx FILE, --npz FILE: a file the model is written as. */
#define OUTPUT(F, HELP)                                                      \
    {.name = #F, .section = "Output", .type = MLP_OPT_PATH,                  \
     MLP_CLI_FIELD(export_opts_t, F), .metavar = "FILE", .help = HELP,       \
     .shown = "none", .sample = "m." #F}
static const mlp_option_t opt_onnx = OUTPUT(
    onnx, "ONNX model (opset 13): input 'input' float32 [batch, in]; "
          "outputs 'logits' and 'probabilities'");
static const mlp_option_t opt_npz = OUTPUT(
    npz, "NumPy archive: W0, b0, W1, b1, ... (W as (out, in), PyTorch's "
         "nn.Linear), shift, scale, sizes, activation, class_names");
#undef OUTPUT
static const mlp_option_t opt_class_names = MLP_CLI_CLASS_NAMES(
    export_opts_t, class_names, "the model's (text labels), else 0..C-1");

static const mlp_cli_opt_t export_options[] = {
    MLP_CLI_USE(&opt_model), MLP_CLI_USE(&opt_class_names),
    MLP_CLI_USE(&opt_onnx),  MLP_CLI_USE(&opt_npz),
    MLP_CLI_USE(NULL),
};

static const mlp_rule_t export_rules[] = {
    {.x = &opt_model, .kind = MLP_RULE_REQUIRED},
    {.x = &opt_onnx, .kind = MLP_RULE_REQUIRED, .alt = &opt_npz,
     .why = "nothing to write otherwise"},
};

const mlp_command_t mlp_command_export = {
    .name = "export",
    .summary = "write a saved model as ONNX or NumPy .npz",
    .run = mlp_cmd_export,
    .usage = "export --model FILE (--onnx FILE | --npz FILE | both)",
    .about = "Write a saved model for other tools.  Both files take raw "
             "inputs as mlptrain does (uint8-range pixels): the input "
             "scaling is in the file.",
    .options = export_options,
    MLP_CLI_RULES(export_rules),
    .own_size = sizeof(export_opts_t),
    .exit_error = "error (model, output file, memory)",
};

int mlp_cmd_export(int argc, char **argv, FILE *out)
{
    export_opts_t o;
    const char *model = o.model, *onnx, *npz;
    mlp_checkpoint_t ck;
    mlp_class_names_t cn;
    mlp_cli_t cl;
    int rc;

    memset(&ck, 0, sizeof(ck));
    memset(&cn, 0, sizeof(cn));
    if ((rc = mlp_cli_parse(&mlp_command_export, argc, argv, out, NULL, &o,
                            &cl)) != 0)
        return rc < 0 ? rc : 0;
    onnx = o.onnx[0] != '\0' ? o.onnx : NULL;
    npz = o.npz[0] != '\0' ? o.npz : NULL;
    /* Outputs first: a bad target fails before the model is read. */
    if ((onnx != NULL && (rc = mlp_export_check_output(onnx, "--onnx", model,
                                                       npz, "--npz")) < 0) ||
        (npz != NULL && (rc = mlp_export_check_output(npz, "--npz", model,
                                                      onnx, "--onnx")) < 0))
        return rc;
    /* Its messages name the file. */
    if ((rc = mlp_checkpoint_load(model, &ck)) < 0 ||
        (rc = mlp_export_class_names(&ck, o.class_names, &cn)) < 0)
        goto out;
    if (onnx != NULL) {
        if ((rc = mlp_export_onnx(&ck, &cn, onnx)) < 0)
            goto out;
        fprintf(out, "wrote %s (ONNX, opset %d)\n", onnx,
                MLP_EXPORT_ONNX_OPSET);
    }
    if (npz != NULL) {
        if ((rc = mlp_export_npz(&ck, &cn, npz)) < 0)
            goto out;
        fprintf(out, "wrote %s (NumPy .npz)\n", npz);
    }
    if (fflush(out) != 0 || ferror(out))
        rc = mlp_error_set(MLP_EIO, "cannot write to standard output: %s",
                           strerror(errno));
out:
    mlp_class_names_free(&cn);
    mlp_checkpoint_free(&ck);
    return rc;
}
