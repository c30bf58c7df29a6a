#include "exec-fifo.h"

#include "macro.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

/* crun's init reads with the fifo already open, so opening the write end never waits; ENXIO means no
 * reader is left: the init is gone. The fifo goes before the byte, as crun does: once the init runs, the
 * container must not look "created". */
static int release_crun(const char *path)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ENXIO ? -ESRCH : -errno;
    if (unlink(path) < 0)
        return -errno;
    const char byte = 0;
    ssize_t n;
    do
        n = write(fd, &byte, 1);
    while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : n < 0 ? (errno == EPIPE ? -ESRCH : -errno) : -EIO;
}

/* runc's init blocks in open(O_WRONLY) until a reader appears. Opening the read end without blocking and
 * polling lets a dead init be noticed (runc itself looks every 100 ms); poll reports neither data nor
 * hang-up before a writer has come and gone, so an init that has not reached its open yet is waited for. */
static int release_runc(const char *path, exec_fifo_alive_fn alive, void *userdata)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ready = poll(&p, 1, 100);
        if (ready < 0 && errno != EINTR)
            return -errno;
        if (ready > 0) {
            char buf[16];
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n < 0)
                return -errno;
            /* A writer that left without a byte: an init that died between its open and its write. */
            if (n == 0)
                return -ESRCH;
            break;
        }
        if (ready == 0 && alive && alive(userdata) == 0)
            return -ESRCH;
    }
    return unlink(path) < 0 ? -errno : 0;
}

int exec_fifo_release(enum oci_runtime_kind kind, const char *path, exec_fifo_alive_fn alive, void *userdata)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return -errno;
    if (!S_ISFIFO(st.st_mode))
        return -EINVAL;
    switch (kind) {
    case OCI_RUNTIME_CRUN:
        return release_crun(path);
    case OCI_RUNTIME_RUNC:
        return release_runc(path, alive, userdata);
    }
    return -EINVAL;
}
