/* kig vkernel plan|apply|teardown|status: the virtual-kernel layer on its own, for tests and for the
 * lead's integration into `kig up` / `kig down`. */
#include "cgroupfs-daemon.h"
#include "cli.h"
#include "mounts.h"
#include "plan.h"

#include "fileutil.h"
#include "log.h"
#include "macro.h"

#include <string.h>

#define DEFAULT_RUN_DIR "/run/kig"

struct vkernel_args {
    const char *run_dir;
    const char *preset;
    bool json;
    bool no_fuse;
    enum vk_augment augment;
};

static int parse_args(int argc, char **argv, const char *cmd, bool allow_plan_flags, struct vkernel_args *ret)
{
    static const struct option longopts[] = {
        {"run-dir", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"no-fuse", no_argument, NULL, 'n'},
        {"preset", required_argument, NULL, 'p'},
        {"augment", required_argument, NULL, 'a'},
        {"verbose", no_argument, NULL, 'v'},
        {},
    };
    *ret = (struct vkernel_args){.run_dir = DEFAULT_RUN_DIR};
    int c;
    while ((c = cli_getopt(argc, argv, cmd, "r:jnp:a:v", longopts)) != -1) {
        switch (c) {
        case 'r':
            ret->run_dir = optarg;
            break;
        case 'j':
            ret->json = true;
            break;
        case 'n':
            if (!allow_plan_flags)
                return cli_usage_error(cmd, "--no-fuse applies to plan and apply only");
            ret->no_fuse = true;
            break;
        case 'p':
            if (!allow_plan_flags || strcmp(argv[0], "plan") != 0)
                return cli_usage_error(cmd, "--preset applies to plan only");
            ret->preset = optarg;
            break;
        case 'a':
            if (!allow_plan_flags)
                return cli_usage_error(cmd, "--augment applies to plan and apply only");
            if (strcmp(optarg, "fuse") == 0)
                ret->augment = VK_AUGMENT_FUSE;
            else if (strcmp(optarg, "overlay") == 0)
                ret->augment = VK_AUGMENT_OVERLAY;
            else if (strcmp(optarg, "auto") == 0)
                ret->augment = VK_AUGMENT_AUTO;
            else
                return cli_usage_error(cmd, "--augment takes auto, fuse or overlay, not '%s'", optarg);
            break;
        case 'v':
            log_set_level(LOG_LEVEL_DEBUG);
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (ret->run_dir[0] != '/')
        return cli_usage_error(cmd, "--run-dir must be an absolute path, not '%s'", ret->run_dir);
    return 0;
}

static int print_json(json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    if (!text)
        return log_error_errno(ENOMEM, "cannot format JSON: %m");
    printf("%s\n", text);
    free(text);
    return 0;
}

static int get_features(const struct vkernel_args *args, struct sandbox_features *f)
{
    if (args->preset) {
        int r = vkernel_features_preset(args->preset, f);
        if (r == -ENOENT) {
            fprintf(stderr, "kig vkernel plan: error: unknown preset '%s'; presets:", args->preset);
            for (const char *const *p = vkernel_feature_presets; *p; p++)
                fprintf(stderr, " %s", *p);
            fputc('\n', stderr);
            return -EINVAL;
        }
        return r < 0 ? log_error_errno(r, "cannot build the preset: %m") : 0;
    }
    int r = mkdir_p(args->run_dir, 0755);
    if (r < 0)
        return log_error_errno(r, "cannot make the run dir %s: %m", args->run_dir);
    r = vkernel_probe_features(args->run_dir, f);
    return r < 0 ? log_error_errno(r, "cannot probe the sandbox: %m") : 0;
}

static int make_plan(const struct vkernel_args *args, struct sandbox_features *f, struct vkernel_plan **ret)
{
    int r = get_features(args, f);
    if (r < 0)
        return r;
    struct vkernel_options o = {.run_dir = args->run_dir, .no_fuse = args->no_fuse, .augment = args->augment};
    r = vkernel_plan(f, &o, ret);
    return r < 0 ? log_error_errno(r, "cannot plan the virtual kernel: %m") : 0;
}

static int output_plan(const struct vkernel_plan *p, const struct sandbox_features *f, bool json,
                       bool with_status)
{
    if (!json) {
        vkernel_plan_print(p, stdout);
        return 0;
    }
    json_t *j, *fj = NULL;
    int r = vkernel_plan_to_json(p, with_status, &j);
    if (r == 0 && f)
        r = sandbox_features_to_json(f, &fj);
    if (r == 0 && fj && json_object_set_new(j, "features", fj) < 0)
        r = -ENOMEM;
    if (r < 0) {
        json_decref(j);
        return log_error_errno(r, "cannot format the plan: %m");
    }
    return print_json(j);
}

static int vkernel_plan_cmd(int argc, char **argv)
{
    struct vkernel_args args;
    int r = parse_args(argc, argv, "vkernel plan", true, &args);
    if (r != 0)
        return r;
    struct sandbox_features f = {0};
    _cleanup_vkernel_plan_ struct vkernel_plan *p = NULL;
    r = make_plan(&args, &f, &p);
    if (r == 0)
        r = output_plan(p, &f, args.json, false);
    sandbox_features_done(&f);
    return r < 0 ? 1 : 0;
}

static int vkernel_apply_cmd(int argc, char **argv)
{
    struct vkernel_args args;
    int r = parse_args(argc, argv, "vkernel apply", true, &args);
    if (r != 0)
        return r;
    _cleanup_vkernel_plan_ struct vkernel_plan *p = NULL;
    r = vkernel_state_load(args.run_dir, &p);
    if (r == 0) {
        /* Applied (or half applied) already: finish that plan, never a new one made from a probe that
         * would see kig's own mounts. */
        log_debug("%s/" VKERNEL_STATE_FILE " exists: resuming it", args.run_dir);
        r = vkernel_apply(NULL, args.run_dir);
    } else if (r == -ENOENT) {
        struct sandbox_features f = {0};
        r = make_plan(&args, &f, &p);
        sandbox_features_done(&f);
        if (r == 0)
            r = vkernel_apply(p, args.run_dir);
    } else {
        log_error_errno(r, "cannot read %s/" VKERNEL_STATE_FILE ": %m", args.run_dir);
    }
    if (r < 0)
        return 1;
    _cleanup_vkernel_plan_ struct vkernel_plan *applied = NULL;
    r = vkernel_state_load(args.run_dir, &applied);
    if (r < 0)
        return log_error_errno(r, "cannot read back %s/" VKERNEL_STATE_FILE ": %m", args.run_dir), 1;
    if (args.json)
        return output_plan(applied, NULL, true, true) < 0 ? 1 : 0;
    char **trace = NULL;
    if (vkernel_plan_trace_argv(applied, &trace, NULL) == 0) {
        printf("applied %zu actions; kig-trace arguments:", applied->n_actions);
        for (char **a = trace; *a; a++)
            printf(" %s", *a);
        printf("\n");
    }
    vk_strv_free(trace);
    return 0;
}

static int vkernel_teardown_cmd(int argc, char **argv)
{
    struct vkernel_args args;
    int r = parse_args(argc, argv, "vkernel teardown", false, &args);
    if (r != 0)
        return r;
    return vkernel_teardown(args.run_dir) < 0 ? 1 : 0;
}

/* Whether what an action made is still there. */
static const char *action_health(const struct vk_action *a)
{
    if (a->status != VK_DONE)
        return vk_action_status_name(a->status);
    switch (a->type) {
    case VK_ACTION_MOUNT:
        return mount_id_at(a->mount_id, a->path) ? "ok" : "not-mounted";
    case VK_ACTION_START_CGROUPFS:
        return cgroupfs_alive(a) ? "ok" : "not-running";
    case VK_ACTION_MKDIR:
        return is_dir(a->path) ? "ok" : "missing";
    default:
        return path_exists(a->path) ? "ok" : "missing";
    }
}

static int vkernel_status_cmd(int argc, char **argv)
{
    struct vkernel_args args;
    int r = parse_args(argc, argv, "vkernel status", false, &args);
    if (r != 0)
        return r;
    _cleanup_vkernel_plan_ struct vkernel_plan *p = NULL;
    r = vkernel_state_load(args.run_dir, &p);
    if (r == -ENOENT) {
        if (args.json)
            printf("{\"applied\": false}\n");
        else
            printf("nothing applied in %s\n", args.run_dir);
        return 0;
    }
    if (r < 0)
        return log_error_errno(r, "cannot read %s/" VKERNEL_STATE_FILE ": %m", args.run_dir), 1;
    size_t bad = 0;
    for (size_t i = 0; i < p->n_actions; i++)
        bad += strcmp(action_health(&p->actions[i]), "ok") != 0;
    if (args.json) {
        json_t *j;
        r = vkernel_plan_to_json(p, true, &j);
        if (r < 0)
            return 1;
        json_t *actions = json_object_get(j, "actions");
        for (size_t i = 0; i < p->n_actions; i++)
            json_object_set_new(json_array_get(actions, i), "health",
                                json_string(action_health(&p->actions[i])));
        json_object_set_new(j, "applied", json_true());
        json_object_set_new(j, "healthy", json_boolean(bad == 0));
        print_json(j);
    } else {
        printf("%zu actions applied in %s, %zu not as applied\n", p->n_actions, args.run_dir, bad);
        for (size_t i = 0; i < p->n_actions; i++) {
            const char *h = action_health(&p->actions[i]);
            if (strcmp(h, "ok") != 0)
                printf("  %s %s: %s\n", vk_action_type_name(p->actions[i].type), p->actions[i].path, h);
        }
    }
    return bad == 0 ? 0 : 3;
}

int cmd_vkernel(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("vkernel", "missing subcommand: plan, apply, teardown or status");
    const char *sub = argv[1];
    if (strcmp(sub, "plan") == 0)
        return vkernel_plan_cmd(argc - 1, argv + 1);
    if (strcmp(sub, "apply") == 0)
        return vkernel_apply_cmd(argc - 1, argv + 1);
    if (strcmp(sub, "teardown") == 0)
        return vkernel_teardown_cmd(argc - 1, argv + 1);
    if (strcmp(sub, "status") == 0)
        return vkernel_status_cmd(argc - 1, argv + 1);
    return cli_usage_error("vkernel", "unknown subcommand '%s' (plan, apply, teardown, status)", sub);
}
