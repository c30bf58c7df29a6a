/* The walks behind kig-du's two command lines (du-args.h), with GNU du's and GNU find's results:
 *
 *   du -x -s -B 1 PATH   the sum of st_blocks * 512 over PATH and everything below it, symlinks not
 *                        followed, each inode with st_nlink > 1 counted once (by st_dev and st_ino), and
 *                        nothing of another file system: below PATH, an entry whose st_dev differs from
 *                        PATH's is left out, a mount point itself included, and not descended into
 *                        (coreutils 9.1 du.c process_file);
 *   find PATH -xdev      one entry per file: PATH, everything below it, and a mount point below it, which
 *                        is counted but not descended into (gnulib fts with FTS_XDEV).
 *
 * Each walks with openat, one open directory per level, and keeps only the inodes with st_nlink > 1.
 *
 * Errors: with walk_options.report NULL the walk stops at the first error, or the first thing GNU's
 * programs would treat in a way not modelled here (a directory cycle through a bind mount, a mode of 0000),
 * and answers WALK_STOPPED: the caller then runs the real program, whose messages are exact in every locale.
 * With a report stream the walk goes on as GNU's programs do and writes their messages there. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum walk_kind {
    WALK_DU,   /* du -x -s -B 1 */
    WALK_FIND, /* find -xdev */
};

struct walk_options {
    /* NULL: stop at the first error. Else GNU's messages go here, prefixed with program_name. */
    FILE *report;
    const char *program_name; /* "du", or find's argv[0] */
    bool utf8_quotes;         /* a UTF-8 locale: find quotes names as ‘this’, not 'this', and neither
                                 program escapes the bytes of multibyte characters */
};

struct walk_result {
    uint64_t bytes;   /* WALK_DU: st_blocks * 512, summed */
    uint64_t entries; /* WALK_FIND: the entries find prints */
    bool root_found;  /* PATH itself could be examined (du prints a total only then) */
};

enum walk_status {
    WALK_OK,      /* no error: GNU exits 0 */
    WALK_FAILED,  /* errors reported (report mode): GNU exits 1, with the totals of what it could read */
    WALK_STOPPED, /* stopped at an error or an unmodelled case (report NULL) */
    WALK_NOMEM,
};

enum walk_status walk_tree(enum walk_kind kind, const char *path, const struct walk_options *o,
                           struct walk_result *ret);

/* The name du prints for PATH is its first N bytes: gnulib's fts_open trims two or more trailing slashes
 * to one ("a//" to "a/", "///" to "/", but "//" stays). Returns N. */
size_t du_printed_name_length(const char *path);

/* GNU's quoting of a file name in messages: du's quoteaf (shell-escape-always) and find's locale quoting,
 * for the usual names (gnulib's quotearg has more cases than these). */
void quote_shell_escape_always(FILE *f, const char *name, bool utf8);
void quote_locale(FILE *f, const char *name, bool utf8);
