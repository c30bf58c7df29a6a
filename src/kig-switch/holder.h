/* The netns holder of one pod: `kig-switch holder ...`, started by kig-switch on CNI ADD.
 *
 * It unshares a new network namespace, creates the pod's TAP there with the pod's address, hands a
 * duplicate of the TAP fd to kig-switch over report_fd, and then serves the podns protocol (podns.h) on
 * <dir>/pods/<id>.sock: fork+exec commands inside the namespace, report their exit, hand out the TAP
 * again (after a switch restart), describe itself, exit on request. It keeps its own TAP fd so the TAP
 * outlives a crashed switch. */
#pragma once

#include <stdint.h>

struct holder_options {
    const char *dir;
    const char *id;
    const char *ifname;
    uint32_t address; /* host order */
    unsigned prefix_len;
    int report_fd; /* a SOCK_SEQPACKET socket to kig-switch, or -1 */
};

/* Runs the holder; returns the process exit code. */
int holder_run(const struct holder_options *o);

/* `kig-switch holder --dir D --id ID --ifname IF --address A/P --report-fd N` */
int holder_main(int argc, char **argv);
