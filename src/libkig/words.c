#include "words.h"

#include "macro.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WORD_SEPARATORS " \t\n"

int split_words(const char *text, int (*each)(const char *word, void *userdata), void *userdata)
{
    if (!text)
        return 0;
    _cleanup_free_ char *copy = strdup(text);
    if (!copy)
        return -ENOMEM;
    char *save = NULL;
    for (char *w = strtok_r(copy, WORD_SEPARATORS, &save); w; w = strtok_r(NULL, WORD_SEPARATORS, &save)) {
        int r = each(w, userdata);
        if (r < 0)
            return r;
    }
    return 0;
}
