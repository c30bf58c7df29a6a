/* Option lists kig takes from the environment (KIG_TRACE_ARGS, KIG_NODE_TRACE_ARGS): words split on white
 * space, as a shell splits an unquoted variable, without quoting or globbing. */
#pragma once

/* Calls each(word, userdata) for every word of text, in order (none for NULL or blank text). Returns the
 * first negative value each returned, -ENOMEM when text cannot be copied, else 0. */
int split_words(const char *text, int (*each)(const char *word, void *userdata), void *userdata);
