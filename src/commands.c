/*
 * commands: the table of subcommands (see commands.h).  A new command adds
 * one line here and its module; main.c needs no change.
 */
#include <stddef.h>

#include "mlptrain/activations.h"
#include "mlptrain/commands.h"
#include "mlptrain/curves.h"
#include "mlptrain/eval.h"
#include "mlptrain/sweep.h"

const mlp_command_t mlp_commands[] = {
    {"sweep", mlp_cmd_sweep, "train every point of a grid of options, rank them"},
    {"plot", mlp_cmd_plot, "draw training curves of --log files (PNG)"},
    {"activations", mlp_cmd_activations, "ReLU, sigmoid, tanh and derivatives"},
    {"eval", mlp_cmd_eval, "test loss, accuracy and confusion matrix of a saved model"},
    {"predict", mlp_cmd_predict, "show test images with true and predicted labels"},
    {NULL, NULL, NULL},
};
