/* The two command lines kig-du answers itself: what kubelet v1.20 runs for every container log directory
 * (every 10 s) and every pod volume (every minute), k8s pkg/volume/util/fs/fs.go:
 *
 *     nice -n 19 du -x -s -B 1 PATH      DiskUsage: the first field of the output is the bytes used
 *     find PATH -xdev -printf .          Find: the bytes written to stdout are the inode count
 *
 * Exactly these argv shapes, with a PATH that GNU du and find take as a plain operand; any other command
 * line (another option, another order, another program) is the real program's. */
#pragma once

enum du_command {
    DU_COMMAND_OTHER, /* not ours: exec the real program */
    DU_COMMAND_DU,    /* nice -n 19 du -x -s -B 1 PATH */
    DU_COMMAND_FIND,  /* find PATH -xdev -printf . */
};

/* Matches argv (argv[0] is the program as run: its basename, "nice" or "find", picks the shape). Stores the
 * PATH operand (a pointer into argv) in *ret_path for DU_COMMAND_DU and DU_COMMAND_FIND. */
enum du_command du_args_match(int argc, char *const *argv, const char **ret_path);

/* argv[0]'s basename: the name the program was run by. */
const char *du_args_program_name(const char *argv0);
