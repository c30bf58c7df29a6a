/* /dev/kmsg: kubelet's OOM watcher (cAdvisor's oomparser) opens it at start-up and gives up the whole
 * kubelet when the open fails. gVisor has no kernel ring buffer to offer.
 *
 * kig bind-mounts /dev/null there. Opening works, a read says end-of-file (there are no kernel messages:
 * the truth), so the watcher logs "kmsg reader closed" once and stops; seeking works; writes are accepted
 * and dropped, as a ring buffer nobody can read would. Rejected alternatives: a FIFO blocks kubelet's
 * open(2) until a writer exists and would need a process kept alive forever; an empty regular file keeps
 * whatever is written to it and replays it as fake kernel messages on the next start. */
#include "plan.h"

int plan_dev(struct vkernel_plan *p, const struct sandbox_features *f, const struct vkernel_options *o)
{
    if (f->dev_kmsg)
        return 0;
    int r = plan_write_file(p, VKERNEL_DEV_KMSG, "", 0600,
                            "kubelet's OOM watcher opens /dev/kmsg (fatal if absent)");
    if (r < 0 || !f->dev_null || !f->bind_mount_file)
        return r; /* an empty file: reads say end-of-file as well */
    return plan_mount(p, "bind", "/dev/null", VKERNEL_DEV_KMSG, NULL,
                      "reads give end-of-file (no kernel messages), writes are dropped");
}
