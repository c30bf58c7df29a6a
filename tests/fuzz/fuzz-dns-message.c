/* libFuzzer target for kig-proxy's DNS server path: any datagram a pod sends is parsed, looked up against a
 * store of Services and Endpoints, and answered. Nothing may crash or leak, an answer never exceeds the size
 * it was given, it always repeats the query's id, and a UDP answer that did not fit says so with TC.
 *
 * The DNS code lives in kig-proxy, not in libkig: its sources are compiled into this target so that they
 * carry the fuzzer's instrumentation. */
#include "../../src/kig-proxy/dns-lookup.c"
#include "../../src/kig-proxy/dns-message.c"
#include "../../src/kig-proxy/service.c"
#include "../../src/kig-proxy/store.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store fuzz_store;
static bool store_ready;

static void setup_store(void)
{
    if (store_ready)
        return;
    store_init(&fuzz_store);
    json_t *services = json_loads(
        "[{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"10.96.0.20\","
        "\"ports\":[{\"name\":\"http\",\"port\":80},{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]}},"
        "{\"metadata\":{\"name\":\"db\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"None\","
        "\"ports\":[{\"name\":\"pg\",\"port\":5432}]}},"
        "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},\"spec\":{\"type\":\"ExternalName\","
        "\"externalName\":\"example.com\"}}]",
        0, NULL);
    json_t *endpoints = json_array();
    json_t *ep =
        json_loads("{\"metadata\":{\"name\":\"db\",\"namespace\":\"default\"},\"subsets\":[{\"addresses\":"
                   "[{\"ip\":\"10.244.0.2\",\"hostname\":\"db-0\"}],\"ports\":[{\"name\":\"pg\","
                   "\"port\":5432}]}]}",
                   0, NULL);
    /* Many addresses: answers that need truncation. */
    json_t *addrs = json_object_get(json_array_get(json_object_get(ep, "subsets"), 0), "addresses");
    for (int i = 3; i < 120; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.244.1.%d", i);
        json_array_append_new(addrs, json_pack("{s:s}", "ip", ip));
    }
    json_array_append_new(endpoints, ep);
    store_replace(&fuzz_store, &fuzz_store.services, services);
    store_replace(&fuzz_store, &fuzz_store.endpoints, endpoints);
    json_decref(services);
    json_decref(endpoints);
    store_ready = true;
}

static void check_answer(const struct dns_query *q, const struct dns_answer *a, size_t max)
{
    static uint8_t out[65535];
    int n = dns_response_build(q, a->rcode, a->authoritative, a->answer, a->n_answer, a->authority,
                               a->n_authority, a->additional, a->n_additional, out, max);
    if (n == -ENOBUFS)
        return;
    if (n < DNS_HEADER_SIZE || (size_t)n > max)
        abort();
    if ((out[0] << 8 | out[1]) != q->id || !(out[2] & 0x80))
        abort();
    bool truncated = out[2] & (DNS_FLAG_TC >> 8);
    uint16_t an = (uint16_t)(out[6] << 8 | out[7]);
    if (truncated ? an != 0 : an != a->n_answer)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_store();
    struct dns_query q;
    int r = dns_query_parse(data, size, &q);
    if (r == -EPROTO || r == -EOPNOTSUPP) {
        uint8_t err[DNS_HEADER_SIZE];
        if (dns_error_build(q.id, q.flags, DNS_RCODE_FORMERR, err, sizeof(err)) != DNS_HEADER_SIZE)
            abort();
        return 0;
    }
    if (r < 0)
        return 0;
    if (strlen(q.name) > DNS_NAME_MAX || q.wire_name_len > DNS_NAME_MAX)
        abort();
    const struct dns_lookup_config cfg = {.domain = "cluster.local", .ttl = 5};
    struct dns_answer a;
    if (q.name_plain && dns_lookup(&fuzz_store, &cfg, q.name, q.qtype, &a) == 0) {
        if (!a.forward) {
            check_answer(&q, &a, dns_udp_limit(&q));
            check_answer(&q, &a, 65535);
        }
        dns_answer_done(&a);
    }
    /* Whatever the name, an empty answer fits in the largest message. */
    static uint8_t out[65535];
    if (dns_response_build(&q, DNS_RCODE_NXDOMAIN, false, NULL, 0, NULL, 0, NULL, 0, out, sizeof(out)) < 0)
        abort();
    return 0;
}
