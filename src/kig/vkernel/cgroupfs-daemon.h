/* Starting and stopping kig-cgroupfs for a START_CGROUPFS action. Both return 0 or a negative errno
 * after logging the cause. */
#pragma once

#include "plan.h"

int cgroupfs_start(struct vk_action *a, const char *run_dir);
int cgroupfs_stop(struct vk_action *a);
/* True when the server the action started is still running. */
bool cgroupfs_alive(const struct vk_action *a);
