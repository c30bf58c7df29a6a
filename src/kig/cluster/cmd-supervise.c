/* `kig __supervise`: the detached process `kig up` starts. Hidden from --help: users never run it. */
#include "cli.h"
#include "cluster-cli.h"
#include "datadir.h"
#include "macro.h"
#include "supervisor.h"

#include <stdint.h>

int cmd_supervise(int argc, char **argv)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"attached", required_argument, NULL, 'a'},
        {},
    };
    const char *data_dir = NULL;
    long attached = 0;
    int c;
    while ((c = cli_getopt(argc, argv, "__supervise", "", options)) != -1) {
        switch (c) {
        case 'd':
            data_dir = optarg;
            break;
        case 'a':
            if (cli_parse_int(optarg, 1, INT32_MAX, &attached) < 0)
                return cli_usage_error("__supervise", "invalid --attached pid '%s'", optarg);
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error("__supervise", "unexpected argument '%s'", argv[optind]);
    _cleanup_(data_dir_done) struct data_dir d = {0};
    if (data_dir_init(&d, data_dir) < 0)
        return 1;
    struct supervisor_options o = {.dir = &d, .attached_to = (pid_t)attached};
    return supervisor_run(&o);
}
