/* netbench: a small TCP/UDP client and server for kig's pod network tests and bench/pod-network.sh.
 *
 *   netbench serve PORT [--bind ADDR] [--label L] [--udp] [--ready-file PATH]
 *       TCP server (one thread per connection). The client's first byte picks the mode:
 *       'H' hello: the server writes "<label> <client address>\n" and closes;
 *       'S' sink: the server reads until EOF and answers the byte count (8 bytes, little endian);
 *       'E' echo: the server echoes everything back until EOF.
 *       --udp also answers UDP datagrams on the same port with "<label> <payload>".
 *   netbench hello ADDR PORT          prints the server's hello line
 *   netbench stream ADDR PORT SECS    sends for SECS seconds, prints "stream_mbps=<MB/s> bytes=<n>"
 *   netbench rr ADDR PORT COUNT       COUNT 1-byte round trips on one connection,
 *                                     prints "rr_us_avg=<us> rr_us_p50=.. rr_us_p99=.."
 *   netbench connect ADDR PORT COUNT  COUNT connections in turn (connect, hello, EOF): set-up latency,
 *                                     prints "conn_us_avg=<us> conn_us_p50=.. conn_us_p99=.."
 *   netbench udp ADDR PORT MSG        sends MSG over UDP, prints the answer (retries for 5 s)
 *   netbench resolve NAME             the IPv4 addresses of NAME through the C library's resolver (which
 *                                     applies resolv.conf's search list and ndots, unlike busybox nslookup)
 *
 * Plain sockets and nothing else, so the same binary measures gVisor loopback and the pod network alike. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (128 * 1024)

static const char *label = "netbench";

static int die(const char *what)
{
    fprintf(stderr, "netbench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_addr(const char *addr, const char *port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(port));
    if (inet_pton(AF_INET, addr, &sa->sin_addr) != 1) {
        fprintf(stderr, "netbench: '%s' is not an IPv4 address\n", addr);
        exit(2);
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *serve_connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(BUF_SIZE);
    char mode;
    if (!buf || read(fd, &mode, 1) != 1)
        goto out;
    if (mode == 'H') {
        struct sockaddr_in peer;
        socklen_t len = sizeof(peer);
        char ip[INET_ADDRSTRLEN] = "?";
        if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0)
            inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
        int n = snprintf(buf, BUF_SIZE, "%s %s\n", label, ip);
        (void)write_all(fd, buf, (size_t)n);
    } else if (mode == 'S') {
        uint64_t total = 0;
        ssize_t n;
        while ((n = read(fd, buf, BUF_SIZE)) > 0)
            total += (uint64_t)n;
        (void)write_all(fd, &total, sizeof(total));
    } else if (mode == 'E') {
        ssize_t n;
        while ((n = read(fd, buf, BUF_SIZE)) > 0)
            if (write_all(fd, buf, (size_t)n) < 0)
                break;
    }
out:
    free(buf);
    close(fd);
    return NULL;
}

static void *serve_udp(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char in[2048], out[2200];
    for (;;) {
        struct sockaddr_in peer;
        socklen_t len = sizeof(peer);
        ssize_t n = recvfrom(fd, in, sizeof(in) - 1, 0, (struct sockaddr *)&peer, &len);
        if (n < 0)
            continue;
        in[n] = '\0';
        int m = snprintf(out, sizeof(out), "%s %s", label, in);
        (void)sendto(fd, out, (size_t)m, 0, (struct sockaddr *)&peer, len);
    }
    return NULL;
}

static int cmd_serve(int argc, char **argv)
{
    const char *bind_addr = "0.0.0.0", *ready_file = NULL;
    int udp = 0;
    if (argc < 1)
        return 2;
    const char *port = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc)
            bind_addr = argv[++i];
        else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
            label = argv[++i];
        else if (strcmp(argv[i], "--ready-file") == 0 && i + 1 < argc)
            ready_file = argv[++i];
        else if (strcmp(argv[i], "--udp") == 0)
            udp = 1;
        else
            return 2;
    }
    struct sockaddr_in sa;
    parse_addr(bind_addr, port, &sa);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("bind");
    if (listen(ls, 64) < 0)
        die("listen");
    if (udp) {
        int us = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (bind(us, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            die("bind udp");
        pthread_t t;
        pthread_create(&t, NULL, serve_udp, (void *)(intptr_t)us);
        pthread_detach(t);
    }
    if (ready_file) {
        int fd = open(ready_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            die("ready file");
        close(fd);
    }
    for (;;) {
        int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            die("accept");
        }
        pthread_t t;
        if (pthread_create(&t, NULL, serve_connection, (void *)(intptr_t)c) != 0) {
            close(c);
            continue;
        }
        pthread_detach(t);
    }
}

static int connect_to(const char *addr, const char *port, char mode)
{
    struct sockaddr_in sa;
    parse_addr(addr, port, &sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("connect");
    int one = 1;
    if (mode == 'E')
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (write_all(fd, &mode, 1) < 0)
        die("write");
    return fd;
}

static int cmd_hello(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    int fd = connect_to(argv[0], argv[1], 'H');
    char buf[512];
    ssize_t n, total = 0;
    while ((n = read(fd, buf + total, sizeof(buf) - 1 - (size_t)total)) > 0)
        total += n;
    buf[total] = '\0';
    fputs(buf, stdout);
    return total > 0 ? 0 : 1;
}

static int cmd_stream(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    double secs = atof(argv[2]);
    int fd = connect_to(argv[0], argv[1], 'S');
    char *buf = calloc(1, BUF_SIZE);
    if (!buf)
        die("calloc");
    uint64_t sent = 0;
    double start = now_s(), end = start + secs;
    while (now_s() < end) {
        if (write_all(fd, buf, BUF_SIZE) < 0)
            die("write");
        sent += BUF_SIZE;
    }
    shutdown(fd, SHUT_WR);
    uint64_t got = 0;
    if (read(fd, &got, sizeof(got)) != sizeof(got))
        die("read the byte count");
    double elapsed = now_s() - start;
    printf("stream_mbps=%.1f bytes=%llu seconds=%.2f\n", (double)got / elapsed / 1e6, (unsigned long long)got,
           elapsed);
    free(buf);
    return got == sent ? 0 : 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmd_rr(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int count = atoi(argv[2]);
    if (count <= 0)
        return 2;
    int fd = connect_to(argv[0], argv[1], 'E');
    double *lat = calloc((size_t)count, sizeof(double));
    if (!lat)
        die("calloc");
    double sum = 0;
    for (int i = 0; i < count; i++) {
        char c = 'x';
        double t0 = now_s();
        if (write_all(fd, &c, 1) < 0 || read(fd, &c, 1) != 1)
            die("round trip");
        lat[i] = (now_s() - t0) * 1e6;
        sum += lat[i];
    }
    qsort(lat, (size_t)count, sizeof(double), cmp_double);
    printf("rr_us_avg=%.1f rr_us_p50=%.1f rr_us_p99=%.1f count=%d\n", sum / count, lat[count / 2],
           lat[(count * 99) / 100], count);
    free(lat);
    close(fd);
    return 0;
}

static int cmd_connect(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int count = atoi(argv[2]);
    if (count <= 0)
        return 2;
    double *lat = calloc((size_t)count, sizeof(double));
    if (!lat)
        die("calloc");
    double sum = 0;
    for (int i = 0; i < count; i++) {
        char buf[512];
        double t0 = now_s();
        int fd = connect_to(argv[0], argv[1], 'H');
        ssize_t n, total = 0;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            total += n;
        close(fd);
        if (total == 0) {
            fprintf(stderr, "netbench: connection %d got no answer\n", i);
            return 1;
        }
        lat[i] = (now_s() - t0) * 1e6;
        sum += lat[i];
    }
    qsort(lat, (size_t)count, sizeof(double), cmp_double);
    printf("conn_us_avg=%.1f conn_us_p50=%.1f conn_us_p99=%.1f count=%d\n", sum / count, lat[count / 2],
           lat[(count * 99) / 100], count);
    free(lat);
    return 0;
}

static int cmd_udp(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    struct sockaddr_in sa;
    parse_addr(argv[0], argv[1], &sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    for (int attempt = 0; attempt < 10; attempt++) {
        if (sendto(fd, argv[2], strlen(argv[2]), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            die("sendto");
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 500) == 1) {
            char buf[2048];
            ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
            if (n >= 0) {
                buf[n] = '\0';
                printf("%s\n", buf);
                return 0;
            }
        }
    }
    fprintf(stderr, "netbench: no UDP answer from %s:%s\n", argv[0], argv[1]);
    return 1;
}

static int cmd_resolve(int argc, char **argv)
{
    if (argc != 1)
        return 2;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    int r = getaddrinfo(argv[0], NULL, &hints, &res);
    if (r != 0) {
        fprintf(stderr, "netbench: cannot resolve '%s': %s\n", argv[0], gai_strerror(r));
        return 1;
    }
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        char buf[INET_ADDRSTRLEN];
        printf("%s\n",
               inet_ntop(AF_INET, &((const struct sockaddr_in *)ai->ai_addr)->sin_addr, buf, sizeof(buf)));
    }
    freeaddrinfo(res);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: netbench serve|hello|stream|rr|connect|udp|resolve ARGS (see the header of "
                        "netbench.c)\n");
        return 2;
    }
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {{"serve", cmd_serve},     {"hello", cmd_hello}, {"stream", cmd_stream},  {"rr", cmd_rr},
                {"connect", cmd_connect}, {"udp", cmd_udp},     {"resolve", cmd_resolve}};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0) {
            int r = cmds[i].run(argc - 2, argv + 2);
            if (r == 2)
                fprintf(stderr, "netbench: bad arguments for '%s'; see the header of netbench.c\n", argv[1]);
            return r;
        }
    fprintf(stderr, "netbench: unknown command '%s'\n", argv[1]);
    return 2;
}
