/*
 * ref.c - A1-style references as openpyxl reads them (utils/cell.py):
 * column letters, single cells with optional '$', and two-corner ranges.
 * Pure functions over (ptr, len); nothing allocates.
 */
#include "common.h"

#include "xlsx/xlsx.h"

#include <string.h>

#define MAX_COL 18278 /* "ZZZ", the last column openpyxl can name */

static int is_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int64_t sk_xlsx_col_number(const char *s, size_t len)
{
    int64_t v = 0;
    size_t i;
    if (len < 1 || len > 3)
        return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (!is_letter(c))
            return 0;
        if (c >= 'a')
            c = (char)(c - 'a' + 'A');
        v = v * 26 + (c - 'A' + 1);
    }
    return v;
}

size_t sk_xlsx_col_name(int64_t col, char out[8])
{
    char tmp[8];
    size_t n = 0, i;
    if (col < 1 || col > MAX_COL) {
        out[0] = '\0';
        return 0;
    }
    while (col > 0) {
        int64_t r = (col - 1) % 26;
        tmp[n++] = (char)('A' + r);
        col = (col - 1) / 26;
    }
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

/*
 * One end of ABSOLUTE_RE: [$]?letters{1,3}[$]?digits+, both present.
 * Returns the bytes consumed (0 when it does not match).
 */
static size_t corner(const char *s, size_t len, int64_t *row, int64_t *col)
{
    size_t i = 0, a, b;
    int64_t r = 0;
    if (i < len && s[i] == '$')
        i++;
    a = i;
    while (i < len && i - a < 4 && is_letter(s[i]))
        i++;
    if (i - a < 1 || i - a > 3)
        return 0;
    *col = sk_xlsx_col_number(s + a, i - a);
    if (i < len && s[i] == '$')
        i++;
    b = i;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (r < ((int64_t)1 << 50))
            r = r * 10 + (s[i] - '0');
        i++;
    }
    if (i == b)
        return 0;
    *row = r;
    return i;
}

int sk_xlsx_parse_cell(const char *s, size_t len, int64_t *row, int64_t *col)
{
    size_t n = corner(s, len, row, col);
    return n && n == len ? SK_OK : SK_EPARSE;
}

int sk_xlsx_parse_range(const char *s, size_t len, int64_t *r1, int64_t *c1,
                        int64_t *r2, int64_t *c2)
{
    size_t n = corner(s, len, r1, c1), m;
    if (!n)
        return SK_EPARSE;
    if (n == len) {
        *r2 = *r1;
        *c2 = *c1;
        return SK_OK;
    }
    if (s[n] != ':')
        return SK_EPARSE;
    m = corner(s + n + 1, len - n - 1, r2, c2);
    return m && n + 1 + m == len ? SK_OK : SK_EPARSE;
}
