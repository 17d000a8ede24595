/*
 * cmd_export: `mlptrain export --model M (--onnx FILE | --npz FILE)`:
 * load a checkpoint, write the model as ONNX and/or NumPy .npz (export.h),
 * and say what was written.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"
#include "mlptrain/export.h"

enum { OPT_MODEL = 256, OPT_ONNX, OPT_NPZ, OPT_CLASS_NAMES };

static const struct option export_options[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"onnx", required_argument, NULL, OPT_ONNX},
    {"npz", required_argument, NULL, OPT_NPZ},
    {"class-names", required_argument, NULL, OPT_CLASS_NAMES},
    MLP_CLI_STD_OPTIONS,
};

static void export_usage(FILE *f)
{
    fputs(
"usage: mlptrain export --model FILE (--onnx FILE | --npz FILE | both)\n"
"Write a saved model for other tools.  Both files take raw inputs as\n"
"mlptrain does (uint8-range pixels): the input scaling is in the file.\n"
"\n"
"      --model FILE       checkpoint written by 'mlptrain --save' [required]\n"
"      --onnx FILE        ONNX model (opset 13): input 'input' float32\n"
"                         [batch, in]; outputs 'logits' and 'probabilities'\n"
"                         [none]\n"
"      --npz FILE         NumPy archive: W0, b0, W1, b1, ... (W as (out, in),\n"
"                         PyTorch's nn.Linear), shift, scale, sizes,\n"
"                         activation, class_names [none]\n"
"      --class-names LIST comma-separated names, one per class [0..C-1]\n"
"  -h, --help             show this help\n"
"  -V, --version          show versions\n",
        f);
    mlp_cli_exit_status(f, NULL, "error (model, output file, memory)", 0);
}

int mlp_cmd_export(int argc, char **argv, FILE *out)
{
    const char *model = NULL, *onnx = NULL, *npz = NULL, *names = NULL;
    mlp_checkpoint_t ck;
    mlp_class_names_t cn;
    int c, rc;

    memset(&ck, 0, sizeof(ck));
    memset(&cn, 0, sizeof(cn));
    optind = 0; /* glibc: full re-initialisation, then argv[1] on */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hV", export_options, NULL)) != -1)
        switch (c) {
        case OPT_MODEL:
            model = optarg;
            break;
        case OPT_ONNX:
            onnx = optarg;
            break;
        case OPT_NPZ:
            npz = optarg;
            break;
        case OPT_CLASS_NAMES:
            names = optarg;
            break;
        case 'h':
            export_usage(out);
            return 0;
        case 'V':
            mlp_cli_version(out);
            return 0;
        default:
            return mlp_cli_bad_option(c, argv, export_options, NULL);
        }
    if (optind < argc)
        return mlp_error_set(MLP_EUSAGE, "unexpected argument '%s'",
                             argv[optind]);
    if (model == NULL || model[0] == '\0')
        return mlp_error_set(MLP_EUSAGE, "option '--model' is required");
    if (onnx == NULL && npz == NULL)
        return mlp_error_set(MLP_EUSAGE, "nothing to write: give --onnx FILE "
                                         "and/or --npz FILE");
    /* Outputs first: a bad target fails before the model is read. */
    if ((onnx != NULL && (rc = mlp_export_check_output(onnx, "--onnx", model,
                                                       npz, "--npz")) < 0) ||
        (npz != NULL && (rc = mlp_export_check_output(npz, "--npz", model,
                                                      onnx, "--onnx")) < 0))
        return rc;
    /* Its messages name the file. */
    if ((rc = mlp_checkpoint_load(model, &ck)) < 0 ||
        (rc = mlp_export_class_names(&ck, names, &cn)) < 0)
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
