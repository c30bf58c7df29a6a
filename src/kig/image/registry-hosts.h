/* containerd's registry host configuration (certs.d layout, containerd 1.5 and later): with the CRI's
 * `registry.config_path = "<dir>"`, a file <dir>/<host>/hosts.toml says how to reach that registry. kig
 * writes one per `--insecure-registry HOST[:PORT]` so that a registry serving plain HTTP on another host
 * than localhost can be pulled from. (Registries on localhost, 127.0.0.0/8 and ::1 need nothing:
 * containerd 1.6's CRI talks plain HTTP to them by default; see docs/images.md.) */
#pragma once

/* The hosts.toml for a plain-HTTP registry at host ("name[:port]"). -EINVAL for an invalid host. */
int registry_hosts_render(const char *host, char **ret);

/* Writes <config_dir>/<host>/hosts.toml (atomically, 0644), creating the directories. */
int registry_hosts_write(const char *config_dir, const char *host);
