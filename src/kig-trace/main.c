/* kig-trace: the ptrace + seccomp supervisor that fixes, syscall by syscall, what gVisor lacks for
 * kubelet, containerd, runc and crun. docs/tracer.md describes the design. */
#include "event.h"
#include "filter.h"
#include "launch.h"
#include "log.h"
#include "options.h"
#include "rules/rule.h"

int main(int argc, char **argv)
{
    log_init("kig-trace");
    struct trace_options opts;
    int r = options_parse(argc, argv, &opts);
    if (r != 0) {
        options_free(&opts);
        return r > 0 ? 0 : EXIT_TRACE_FAILED;
    }
    log_set_level(opts.verbosity > 0 ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
    for (unsigned id = 0; id < RULE_COUNT; id++) {
        if ((opts.rules & (1u << id)) && all_rules[id]->init && all_rules[id]->init(&opts) < 0) {
            options_free(&opts);
            return EXIT_TRACE_FAILED;
        }
    }
    /* Built before forking so that a bad rule set fails here, with the caller watching. */
    scmp_filter_ctx filter = filter_build(opts.rules, opts.trap_marked_mounts);
    if (!filter) {
        options_free(&opts);
        return EXIT_TRACE_FAILED;
    }
    event_init(opts.rules, opts.verbosity);
    /* Returns only when kig-trace itself failed: the program's own status leaves through _exit/raise. */
    r = front_run(&opts, filter);
    seccomp_release(filter);
    options_free(&opts);
    return r;
}
