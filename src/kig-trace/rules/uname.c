/* uname: report another kernel release. Some programs gate features on the release string; gVisor says
 * 4.4.0 whatever it implements, so kig tells them the release it has verified instead. */
#include "log.h"
#include "memory.h"
#include "rule.h"

#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

static char release[sizeof(((struct utsname *)0)->release)];

static int uname_init(const struct trace_options *opts)
{
    if (!opts->uname_release || !*opts->uname_release)
        return log_error_errno(EINVAL, "the uname rule needs --uname-release RELEASE");
    if (strlen(opts->uname_release) >= sizeof(release))
        return log_error_errno(EINVAL, "--uname-release '%s' is longer than %zu characters",
                               opts->uname_release, sizeof(release) - 1);
    strncpy(release, opts->uname_release, sizeof(release) - 1);
    return 0;
}

static enum trap_action uname_enter(struct trap *t)
{
    return TRAP_FOLLOW;
}

static enum exit_action uname_exit(struct trap *t)
{
    if (trap_result(t) != 0)
        return EXIT_DONE;
    /* The whole field, so no byte of the real release survives past our NUL. */
    uint64_t field = trap_arg(t, 0) + offsetof(struct utsname, release);
    int r = mem_write(t->tid, field, release, sizeof(release));
    if (r < 0)
        log_debug_errno(r, "tid %d: cannot rewrite utsname.release: %m", (int)t->tid);
    return EXIT_DONE;
}

static const struct rule_syscall uname_syscalls[] = {{.nr = SYS_uname}};

const struct rule rule_uname = {
    .id = RULE_UNAME,
    .name = "uname",
    .summary = "uname(2) reports --uname-release as the kernel release",
    .syscalls = uname_syscalls,
    .n_syscalls = 1,
    .init = uname_init,
    .enter = uname_enter,
    .exit = uname_exit,
};
