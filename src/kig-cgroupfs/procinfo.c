#include "procinfo.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char proc_root[PATH_MAX] = "/proc";

void procinfo_set_root(const char *root)
{
    snprintf(proc_root, sizeof(proc_root), "%s", root ? root : "/proc");
}

static FILE *proc_open(pid_t pid, const char *file)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%ld/%s", proc_root, (long)pid, file);
    return fopen(path, "re");
}

int proc_read_stat(pid_t pid, struct proc_stat *ret)
{
    if (pid <= 0)
        return -ESRCH;
    FILE *f = proc_open(pid, "stat");
    if (!f)
        return errno == ENOENT || errno == ESRCH ? -ESRCH : -EIO;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name sits in parentheses and may hold anything: parse from the last ')'. */
    const char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -EIO;
    p += 2;
    struct proc_stat st = {.pid = pid, .state = *p};
    long ppid = 0;
    if (sscanf(p + 1, " %ld", &ppid) != 1)
        return -EIO;
    st.ppid = (pid_t)ppid;
    /* Fields 3 (state) .. 22 (starttime): skip to the 20th field after the state. */
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (!p)
        return -EIO;
    st.start_time = strtoull(p, NULL, 10);
    *ret = st;
    return 0;
}

static bool is_number(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static int compare_pids(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return x < y ? -1 : x > y;
}

static int list_numeric(const char *dir, pid_t **ret)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? -ESRCH : -errno;
    size_t n = 0, cap = 64;
    pid_t *v = malloc(cap * sizeof(pid_t));
    if (!v) {
        closedir(d);
        return -ENOMEM;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!is_number(de->d_name))
            continue;
        if (n == cap) {
            pid_t *nv = realloc(v, cap * 2 * sizeof(pid_t));
            if (!nv) {
                free(v);
                closedir(d);
                return -ENOMEM;
            }
            v = nv;
            cap *= 2;
        }
        v[n++] = (pid_t)strtol(de->d_name, NULL, 10);
    }
    closedir(d);
    qsort(v, n, sizeof(pid_t), compare_pids);
    *ret = v;
    return (int)n;
}

int proc_list_pids(pid_t **ret)
{
    return list_numeric(proc_root, ret);
}

int proc_list_tasks(pid_t pid, pid_t **ret)
{
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof(dir), "%s/%ld/task", proc_root, (long)pid);
    return list_numeric(dir, ret);
}

static int status_field(pid_t pid, const char *name, long long *ret)
{
    FILE *f = proc_open(pid, "status");
    if (!f)
        return -ESRCH;
    char line[256];
    size_t len = strlen(name);
    int r = -ENOENT;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            *ret = strtoll(line + len + 1, NULL, 10);
            r = 0;
            break;
        }
    }
    fclose(f);
    return r;
}

pid_t proc_tgid_of(pid_t tid)
{
    long long tgid;
    if (tid > 0 && status_field(tid, "Tgid", &tgid) == 0)
        return (pid_t)tgid;
    pid_t *pids;
    int n = proc_list_pids(&pids);
    pid_t found = -ESRCH;
    for (int i = 0; i < n && found < 0; i++) {
        pid_t *tasks;
        int m = proc_list_tasks(pids[i], &tasks);
        for (int j = 0; j < m; j++)
            if (tasks[j] == tid)
                found = pids[i];
        if (m >= 0)
            free(tasks);
    }
    if (n >= 0)
        free(pids);
    return found;
}

unsigned long long proc_rss_bytes(pid_t pid)
{
    long long kb;
    return status_field(pid, "VmRSS", &kb) == 0 && kb > 0 ? (unsigned long long)kb * 1024 : 0;
}

int proc_meminfo(const char *field, unsigned long long *ret)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/meminfo", proc_root);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    char line[256];
    size_t len = strlen(field);
    int r = -ENOENT;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            unsigned long long v = strtoull(line + len + 1, NULL, 10);
            *ret = strstr(line, " kB") ? v * 1024 : v;
            r = 0;
            break;
        }
    }
    fclose(f);
    return r;
}

void proc_free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int proc_net_interfaces(char ***ret)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/net/dev", proc_root);
    FILE *f = fopen(path, "re");
    *ret = NULL;
    if (!f)
        return 0;
    char line[512];
    size_t n = 0;
    char **v = NULL;
    while (fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue; /* the two header lines */
        *colon = '\0';
        char *name = line;
        while (*name == ' ')
            name++;
        char **nv = realloc(v, (n + 1) * sizeof(char *));
        char *copy = strdup(name);
        if (!nv || !copy) {
            free(copy);
            proc_free_names(nv ? nv : v, n);
            fclose(f);
            return -ENOMEM;
        }
        v = nv;
        v[n++] = copy;
    }
    fclose(f);
    *ret = v;
    return (int)n;
}

int proc_cgroup_path(pid_t pid, char *buf, size_t size)
{
    FILE *f = proc_open(pid, "cgroup");
    if (!f)
        return -ENOENT;
    char line[4096];
    int r = -ENOENT;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *controllers = strchr(line, ':');
        char *path = controllers ? strchr(controllers + 1, ':') : NULL;
        if (!path || path == controllers + 1 || strncmp(controllers + 1, "name=", 5) == 0)
            continue; /* cgroup2's "0::/path" and named hierarchies say nothing about v1 controllers */
        *path++ = '\0';
        bool cpu = false;
        for (char *save = NULL, *c = strtok_r(controllers + 1, ",", &save); c; c = strtok_r(NULL, ",", &save))
            cpu = cpu || strcmp(c, "cpu") == 0;
        if (r < 0 || cpu) {
            snprintf(buf, size, "%s", path);
            r = 0;
        }
        if (cpu)
            break;
    }
    fclose(f);
    return r;
}
