/*
 * commands: the table of commands (see commands.h).  A new command adds
 * one line here and its src/cmd_*.c; main.c needs no change.
 */
#include <stddef.h>

#include "mlptrain/commands.h"

const mlp_command_t mlp_commands[] = {
    {"train", mlp_cmd_train, "train a model (the default command)",
     mlp_cmd_train_data_dir},
    {"sweep", mlp_cmd_sweep, "train every point of a grid of options, rank them", NULL},
    {"plot", mlp_cmd_plot, "draw training curves of --log files (PNG)", NULL},
    {"activations", mlp_cmd_activations, "ReLU, sigmoid, tanh and derivatives", NULL},
    {"eval", mlp_cmd_eval, "test loss, accuracy and confusion matrix of a saved model", NULL},
    {"predict", mlp_cmd_predict, "show test images with true and predicted labels", NULL},
    {"export", mlp_cmd_export, "write a saved model as ONNX or NumPy .npz", NULL},
    {NULL, NULL, NULL, NULL},
};
