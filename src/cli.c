/*
 * cli: getopt_long over argv into an mlp_config_t (see cli.h).
 *
 * Non-goals: running anything; printing anything but usage and version.
 */
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "git-version.h"
#include "mlptrain/cli.h"
#include "mlptrain/error.h"

enum {
    OPT_HIDDEN = 256,
    OPT_ACT,
    OPT_LR,
    OPT_MOMENTUM,
    OPT_WD,
    OPT_INIT_STD,
    OPT_MAX_LOSS,
    OPT_DATA,
    OPT_LIMIT_TRAIN,
    OPT_LOG,
    OPT_SLOTS,
    OPT_PLAIN_WEIGHTS,
    OPT_SAVE,
    OPT_RESUME,
};

static const struct option long_options[] = {
    {"workers", required_argument, NULL, 'j'},
    {"threads", required_argument, NULL, 't'},
    {"hidden", required_argument, NULL, OPT_HIDDEN},
    {"act", required_argument, NULL, OPT_ACT},
    {"lr", required_argument, NULL, OPT_LR},
    {"momentum", required_argument, NULL, OPT_MOMENTUM},
    {"weight-decay", required_argument, NULL, OPT_WD},
    {"batch", required_argument, NULL, 'b'},
    {"epochs", required_argument, NULL, 'e'},
    {"seed", required_argument, NULL, 's'},
    {"init-std", required_argument, NULL, OPT_INIT_STD},
    {"max-loss", required_argument, NULL, OPT_MAX_LOSS},
    {"data", required_argument, NULL, OPT_DATA},
    {"limit-train", required_argument, NULL, OPT_LIMIT_TRAIN},
    {"limit-test", required_argument, NULL, 'n'},
    {"log", required_argument, NULL, OPT_LOG},
    {"png", required_argument, NULL, 'o'},
    {"plot", required_argument, NULL, 'o'}, /* the old name of --png */
    {"slots", required_argument, NULL, OPT_SLOTS},
    {"plain-weights", no_argument, NULL, OPT_PLAIN_WEIGHTS},
    {"save", required_argument, NULL, OPT_SAVE},
    {"resume", required_argument, NULL, OPT_RESUME},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

void mlp_cli_usage(FILE *f)
{
    fprintf(f,
"usage: mlptrain [train] [OPTIONS]\n"
"Train a multilayer perceptron on an IDX image dataset (Fashion-MNIST).\n"
"\n"
"Model:\n"
"      --hidden LIST      hidden layer widths, e.g. 256, 512,256 or 1024:512;\n"
"                         '' or none for softmax regression [256]\n"
"      --act NAME         activation: relu, sigmoid or tanh [relu]\n"
"      --init-std X       weights drawn from N(0, X^2), biases 0 [0.01]\n"
"      --plain-weights    keep weights in plain (out, in) layout [blocked]\n"
"Training:\n"
"      --lr X             learning rate [0.1]\n"
"      --momentum X       SGD momentum, 0 <= X < 1 [0]\n"
"      --max-loss X       stop as diverged when a batch's mean loss exceeds X,\n"
"                         or 'off' (only a NaN/inf loss) [100 x ln(classes)]\n"
"      --weight-decay X   L2 weight decay [0]\n"
"  -b, --batch N          batch size [256]\n"
"  -e, --epochs N         epochs [10]\n"
"  -s, --seed N           seed of weights and shuffling [1]\n"
"Data:\n"
"      --data DIR         directory of the IDX files [$MLPTRAIN_DATA, else\n"
"                         %s]\n"
"      --limit-train N    use the first N training samples [all]\n"
"  -n, --limit-test N     use the first N test samples [all]\n"
"Machine:\n"
"  -j, --workers N        loader threads, 0..%d; 0 decodes on the trainer [4]\n"
"  -t, --threads N        compute (OpenMP) threads [cores: %d]\n"
"      --slots N          ring slots of decoded batches [min(2N, 16), >= 2]\n"
"Output:\n"
"  -q, --quiet            print only the final summary line\n"
"      --log FILE         write JSON lines: the run, each epoch, the end\n"
"  -o, --png FILE         draw the training curves, redrawn every epoch\n"
"                         (--plot FILE is the same) [none]\n"
"      --save FILE        write a checkpoint after every epoch\n"
"                         [none; with --resume, the resumed file]\n"
"      --resume FILE      continue the run in a checkpoint: it sets the model,\n"
"                         seed, batch and optimizer; --epochs N (required) is\n"
"                         the total to reach; --lr may change (fine-tuning,\n"
"                         logged as an override) [none]\n"
"  -h, --help             show this help\n"
"  -V, --version          show versions\n"
"\n"
"Exit status:\n"
"  0    success\n"
"  1    error (data, memory, oneDNN, I/O)\n"
"  2    bad usage\n"
"  3    training diverged\n"
"  130  interrupted (SIGINT or SIGTERM)\n",
            MLP_DEFAULT_DATA_DIR, MLP_MAX_WORKERS, mlp_config_ncores());
}

int mlp_cli_parse_uint(const char *opt, const char *arg,
                       unsigned long long lo, unsigned long long hi,
                       unsigned long long *out)
{
    char *end;
    unsigned long long v;

    if (arg[0] < '0' || arg[0] > '9')
        goto bad;
    errno = 0;
    v = strtoull(arg, &end, 10);
    if (*end != '\0')
        goto bad;
    if (errno == ERANGE || v < lo || v > hi)
        return mlp_error_set(MLP_EUSAGE,
                             "option '%s': '%s' is out of range (%llu..%llu)",
                             opt, arg, lo, hi);
    *out = v;
    return 0;
bad:
    return mlp_error_set(MLP_EUSAGE,
                         "option '%s': '%s' is not a whole number >= 0", opt,
                         arg);
}

int mlp_cli_parse_float(const char *opt, const char *arg, float *out)
{
    const char *p = arg;
    char *end;
    size_t digits = 0;
    double v;

    /* [-]digits[.digits] or [-].digits, then [e[+-]digits]: no space, no
     * hex, no inf or nan, no '+' (as for whole numbers) */
    if (*p == '-')
        p++;
    for (; *p >= '0' && *p <= '9'; p++)
        digits++;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits++;
    if (digits == 0)
        goto bad;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            goto bad;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p != '\0')
        goto bad;
    errno = 0;
    v = strtod(arg, &end);
    if (*end != '\0')
        goto bad;
    /* A value a float cannot hold: too large (it would be inf), or so
     * small it would be 0 */
    if (!isfinite(v) || fabs(v) > FLT_MAX ||
        (v != 0.0 && (float)v == 0.0f))
        return mlp_error_set(MLP_EUSAGE,
                             "option '%s': '%s' is out of range for a float "
                             "(magnitude 1e-45..3.4e38)",
                             opt, arg);
    *out = (float)v;
    return 0;
bad:
    return mlp_error_set(MLP_EUSAGE,
                         "option '%s': '%s' is not a number", opt,
                         arg);
}

/* The MLP_GIVEN_* bit of an option, 0 for those a checkpoint ignores. */
static unsigned given_bit(int c)
{
    switch (c) {
    case OPT_HIDDEN: return MLP_GIVEN_HIDDEN;
    case OPT_ACT: return MLP_GIVEN_ACT;
    case OPT_INIT_STD: return MLP_GIVEN_INIT_STD;
    case OPT_LR: return MLP_GIVEN_LR;
    case OPT_MOMENTUM: return MLP_GIVEN_MOMENTUM;
    case OPT_WD: return MLP_GIVEN_WD;
    case 'b': return MLP_GIVEN_BATCH;
    case 's': return MLP_GIVEN_SEED;
    case OPT_LIMIT_TRAIN: return MLP_GIVEN_LIMIT_TRAIN;
    default: return 0;
    }
}

int mlp_cli_parse_hidden(const char *arg, size_t *hidden, size_t *nhidden)
{
    const char *p = arg;
    size_t n = 0;

    if (arg[0] == '\0' || strcmp(arg, "none") == 0) {
        *nhidden = 0;
        return 0;
    }
    for (;;) {
        char *end;
        unsigned long long v;

        if (*p < '0' || *p > '9')
            return mlp_error_set(MLP_EUSAGE,
                                 "option '--hidden': '%s': expected a list of "
                                 "widths such as 512,256",
                                 arg);
        errno = 0;
        v = strtoull(p, &end, 10);
        if (errno == ERANGE || v == 0 || v > (1ULL << 24))
            return mlp_error_set(MLP_EUSAGE,
                                 "option '--hidden': '%s': widths must be "
                                 "1..16777216",
                                 arg);
        if (n == MLP_MAX_HIDDEN)
            return mlp_error_set(MLP_EUSAGE,
                                 "option '--hidden': '%s': at most %d layers",
                                 arg, MLP_MAX_HIDDEN);
        hidden[n++] = (size_t)v;
        if (*end == '\0')
            break;
        if (*end != ',' && *end != ':')
            return mlp_error_set(MLP_EUSAGE,
                                 "option '--hidden': '%s': expected a list of "
                                 "widths such as 512,256",
                                 arg);
        p = end + 1;
    }
    *nhidden = n;
    return 0;
}

int mlp_cli_parse(int argc, char **argv, mlp_cmd_t *cmd, mlp_config_t *cfg)
{
    unsigned long long v;
    int c, rc, epochs_given = 0;

    *cmd = MLP_CMD_TRAIN;
    if (argc > 1 && argv[1][0] != '-') {
        if (strcmp(argv[1], "train") != 0)
            return mlp_error_set(MLP_EUSAGE, "unknown command '%s'", argv[1]);
        argc--;
        argv++;
    }
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":j:t:b:e:s:n:o:qhV", long_options,
                            NULL)) != -1) {
        const char *name = NULL;

        /* The option's name as the user typed it, for messages. */
        for (const struct option *o = long_options; o->name != NULL; o++)
            if (o->val == c && name == NULL)
                name = o->name;
        char opt[64];
        snprintf(opt, sizeof(opt), "--%s", name != NULL ? name : "?");
        cfg->given |= given_bit(c);

        switch (c) {
        case 'j':
            if ((rc = mlp_cli_parse_uint(opt, optarg,
                                          0, MLP_MAX_WORKERS, &v)) < 0)
                return rc;
            cfg->workers = (unsigned)v;
            break;
        case 't':
            if ((rc = mlp_cli_parse_uint(opt, optarg,
                                          1, MLP_MAX_THREADS, &v)) < 0)
                return rc;
            cfg->threads = (int)v;
            break;
        case OPT_HIDDEN:
            if ((rc = mlp_cli_parse_hidden(optarg, cfg->hidden,
                                           &cfg->nhidden)) < 0)
                return rc;
            break;
        case OPT_ACT:
            if ((rc = mlp_act_parse(optarg)) < 0)
                return mlp_error_set(MLP_EUSAGE,
                                     "option '--act': unknown activation "
                                     "'%s' (relu, sigmoid, tanh)",
                                     optarg);
            cfg->act = (mlp_act_t)rc;
            break;
        case OPT_LR:
            if ((rc = mlp_cli_parse_float(opt, optarg, &cfg->lr)) < 0)
                return rc;
            if (!(cfg->lr > 0.0f))
                return mlp_error_set(MLP_EUSAGE,
                                     "option '--lr': '%s' must be > 0",
                                     optarg);
            break;
        case OPT_MOMENTUM:
            if ((rc = mlp_cli_parse_float(opt, optarg, &cfg->momentum)) < 0)
                return rc;
            if (!(cfg->momentum >= 0.0f && cfg->momentum < 1.0f))
                return mlp_error_set(MLP_EUSAGE,
                                     "option '--momentum': '%s' must be in "
                                     "[0, 1)",
                                     optarg);
            break;
        case OPT_WD:
            if ((rc = mlp_cli_parse_float(opt, optarg, &cfg->weight_decay)) < 0)
                return rc;
            if (!(cfg->weight_decay >= 0.0f))
                return mlp_error_set(MLP_EUSAGE,
                                     "option '--weight-decay': '%s' must be "
                                     ">= 0",
                                     optarg);
            break;
        case OPT_MAX_LOSS:
            if (strcmp(optarg, "off") == 0) {
                cfg->max_loss = -1.0f;
                break;
            }
            if ((rc = mlp_cli_parse_float(opt, optarg, &cfg->max_loss)) < 0)
                return rc;
            if (!(cfg->max_loss > 0.0f))
                return mlp_error_set(MLP_EUSAGE,
                                     "option '--max-loss': '%s' must be > 0 "
                                     "or off",
                                     optarg);
            break;
        case OPT_INIT_STD:
            if ((rc = mlp_cli_parse_float(opt, optarg, &cfg->init_std)) < 0)
                return rc;
            if (!(cfg->init_std >= 0.0f))
                return mlp_error_set(MLP_EUSAGE,
                                     "option '--init-std': '%s' must be >= 0",
                                     optarg);
            break;
        case 'b':
            if ((rc = mlp_cli_parse_uint(opt, optarg, 1, 1u << 20, &v)) < 0)
                return rc;
            cfg->batch = (size_t)v;
            break;
        case 'e':
            if ((rc = mlp_cli_parse_uint(opt, optarg, 1, 1000000, &v)) < 0)
                return rc;
            cfg->epochs = (unsigned)v;
            epochs_given = 1;
            break;
        case 's':
            if ((rc = mlp_cli_parse_uint(opt, optarg, 0, UINT64_MAX, &v)) < 0)
                return rc;
            cfg->seed = (uint64_t)v;
            break;
        case OPT_DATA:
            if (optarg[0] == '\0' ||
                strlen(optarg) >= sizeof(cfg->data_dir))
                return mlp_error_set(MLP_EUSAGE,
                                     "option '--data': '%s' is not a usable "
                                     "directory name",
                                     optarg);
            strcpy(cfg->data_dir, optarg);
            break;
        case OPT_LIMIT_TRAIN:
        case 'n':
            if ((rc = mlp_cli_parse_uint(opt, optarg, 1, SIZE_MAX, &v)) < 0)
                return rc;
            *(c == OPT_LIMIT_TRAIN ? &cfg->limit_train : &cfg->limit_test) =
                (size_t)v;
            break;
        case 'o':
            if (optarg[0] == '\0' || strlen(optarg) >= sizeof(cfg->plot_path))
                return mlp_error_set(MLP_EUSAGE,
                                     "option '--png': '%s' is not a usable "
                                     "file name",
                                     optarg);
            strcpy(cfg->plot_path, optarg);
            break;
        case OPT_LOG:
            if (optarg[0] == '\0' || strlen(optarg) >= sizeof(cfg->log_path))
                return mlp_error_set(MLP_EUSAGE,
                                     "option '--log': '%s' is not a usable "
                                     "file name",
                                     optarg);
            strcpy(cfg->log_path, optarg);
            break;
        case OPT_SLOTS:
            if ((rc = mlp_cli_parse_uint(opt, optarg, 2, 4096, &v)) < 0)
                return rc;
            cfg->slots = (size_t)v;
            break;
        case OPT_PLAIN_WEIGHTS:
            cfg->plain_weights = 1;
            break;
        case OPT_SAVE:
        case OPT_RESUME: {
            char *dst = c == OPT_SAVE ? cfg->save_path : cfg->resume_path;

            if (optarg[0] == '\0' || strlen(optarg) >= MLP_PATH_MAX)
                return mlp_error_set(MLP_EUSAGE,
                                     "option '%s': '%s' is not a usable file "
                                     "name",
                                     opt, optarg);
            strcpy(dst, optarg);
            break;
        }
        case 'q':
            cfg->quiet = 1;
            break;
        case 'h':
            *cmd = MLP_CMD_HELP;
            return 0;
        case 'V':
            *cmd = MLP_CMD_VERSION;
            return 0;
        default:
            return mlp_cli_bad_option(c, argv, long_options, NULL);
        }
    }
    if (optind < argc)
        return mlp_error_set(MLP_EUSAGE, "unexpected argument '%s'",
                             argv[optind]);
    /* The checkpoint does not record the run's target: say it again. */
    if (cfg->resume_path[0] != '\0' && !epochs_given)
        return mlp_error_set(MLP_EUSAGE,
                             "option '--resume' needs '--epochs N', the "
                             "total number of epochs to reach");
    if (mlp_config_validate(cfg) < 0)
        return MLP_EUSAGE;
    return 0;
}

void mlp_cli_version(FILE *f)
{
    fprintf(f, "mlptrain %s (git %s)\noneDNN %s, ISA %s\n%s\n",
            PACKAGE_VERSION, MLP_GIT_HASH, mlp_net_dnnl_version(),
            mlp_net_isa(), MLP_CC_VERSION);
}

int mlp_cli_bad_option(int c, char **argv, const struct option *opts,
                       const char *note)
{
    const char *arg = argv[optind - 1], *name, *eq;
    const struct option *match = NULL;
    char list[256] = "";
    size_t len, nmatch = 0, o = 0;

    int is_long;

    if (note == NULL)
        note = "";
    /* A long option is the last argument getopt_long read (and optopt is 0
     * for an unknown one, the option's val for a misused one); a short one
     * is named by optopt, wherever it stood in a cluster. */
    is_long = strncmp(arg, "--", 2) == 0 && arg[2] != '\0' &&
              (c == ':' || optopt == 0 || strchr(arg, '=') != NULL);
    if (!is_long && optopt > 0 && optopt < 256) {
        if (c == ':')
            return mlp_error_set(MLP_EUSAGE, "option '-%c' needs a value%s",
                                 optopt, note);
        return mlp_error_set(MLP_EUSAGE, "unknown option '-%c'%s", optopt,
                             note);
    }
    if (!is_long)
        return mlp_error_set(MLP_EUSAGE, "unknown option '%s'%s", arg, note);
    name = arg + 2;
    eq = strchr(name, '=');
    len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    /* getopt_long says '?' for an unknown, an ambiguous and a misused long
     * option alike: tell them apart with the table, as it matched them.
     * Aliases (the same val) are one option. */
    for (const struct option *p = opts; p->name != NULL; p++) {
        if (strncmp(p->name, name, len) != 0)
            continue;
        if (strlen(p->name) == len) {
            match = p;
            nmatch = 1;
            break;
        }
        if (match == NULL || match->val != p->val || match->has_arg !=
            p->has_arg) {
            if (o < sizeof(list))
                o += (size_t)snprintf(list + o, sizeof(list) - o, "%s--%s",
                                      nmatch ? ", " : "", p->name);
            if (match == NULL)
                match = p;
            nmatch++;
        }
    }
    if (nmatch > 1)
        return mlp_error_set(MLP_EUSAGE, "option '--%.*s' is ambiguous: "
                             "it could be %s%s", (int)len, name, list, note);
    if (nmatch == 1 && c == ':')
        return mlp_error_set(MLP_EUSAGE, "option '--%s' needs a value%s",
                             match->name, note);
    if (nmatch == 1 && eq != NULL && match->has_arg == no_argument)
        return mlp_error_set(MLP_EUSAGE, "option '--%s' takes no value%s",
                             match->name, note);
    return mlp_error_set(MLP_EUSAGE, "unknown option '--%.*s'%s", (int)len,
                         name, note);
}
