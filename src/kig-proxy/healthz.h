/* A plain-HTTP health endpoint like kube-proxy's (GET /healthz on 127.0.0.1:10256): 200 "ok" once the
 * first sync has put every service in place, 503 before. kig's supervisor and the tests wait on it. */
#pragma once

#include "loop.h"

#include <netinet/in.h>
#include <stdbool.h>

struct healthz;

int healthz_new(struct loop *l, const struct sockaddr_in *addr, bool (*ready)(void *), void *userdata,
                struct healthz **ret);
void healthz_tick(struct healthz *h);
void healthz_free(struct healthz *h);
