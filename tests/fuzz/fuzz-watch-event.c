/* libFuzzer target for kig-proxy's watch-stream parser and what reads the events: a stream from the
 * apiserver is fed whole and again in two pieces split at a point the input chooses; both must produce the
 * same events. Each event is applied to a store and read as a Service and as Endpoints. Nothing may crash or
 * leak.
 *
 * The parser lives in kig-proxy, not in libkig: its sources are compiled into this target so that they
 * carry the fuzzer's instrumentation. */
#include "../../src/kig-proxy/service.c"
#include "../../src/kig-proxy/store.c"
#include "../../src/kig-proxy/watch-stream.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
    struct store store;
    unsigned events;
    uint64_t digest; /* order-sensitive summary of the event types and versions */
};

static int on_event(const struct watch_event *ev, void *userdata)
{
    struct run *run = userdata;
    run->events++;
    run->digest = run->digest * 31 + (uint64_t)ev->type + 1;
    for (const char *p = ev->resource_version; p && *p; p++)
        run->digest = run->digest * 31 + (unsigned char)*p;
    store_apply(&run->store, &run->store.services, ev->type, ev->object);
    struct service svc;
    if (service_from_json(ev->object, &svc) == 0) {
        for (size_t i = 0; i < svc.n_ports; i++) {
            struct backend *list;
            size_t n;
            if (endpoints_backends(ev->object, svc.ports[i].name, svc.ports[i].protocol, &list, &n) == 0) {
                for (size_t j = 1; j < n; j++)
                    if (backend_compare(&list[j - 1], &list[j]) >= 0)
                        abort(); /* sorted, no duplicates */
                free(list);
            }
        }
        service_done(&svc);
    }
    return 0;
}

static int feed(const char *text, size_t len, size_t split, struct run *run)
{
    struct watch_stream ws;
    watch_stream_init(&ws, 1u << 16);
    store_init(&run->store);
    int r = watch_stream_feed(&ws, text, split, on_event, run);
    if (r == 0)
        r = watch_stream_feed(&ws, text + split, len - split, on_event, run);
    watch_stream_done(&ws);
    store_done(&run->store);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t split = ((size_t)data[0] << 8 | data[1]) % (size - 1);
    const char *text = (const char *)data + 2;
    size_t len = size - 2;
    if (split > len)
        split = len;
    struct run whole = {0}, pieces = {0};
    int a = feed(text, len, len, &whole);
    int b = feed(text, len, split, &pieces);
    if (a == 0 && b == 0 && (whole.events != pieces.events || whole.digest != pieces.digest))
        abort();
    if ((a == 0) != (b == 0) && a != -EMSGSIZE && b != -EMSGSIZE)
        abort();
    return 0;
}
