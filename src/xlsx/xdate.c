/*
 * xdate.c - Excel serial numbers, ISO dates and number formats the way
 * openpyxl 3.0.9 reads them (utils/datetime.py, styles/numbers.py), with
 * CPython's datetime arithmetic (timedelta rounding, year 1..9999, days
 * within +-999999999), and repr() of every value kind.
 */
#include "common.h"

#include "xlsx/xlsx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/pylit.h"
#include "bench/score.h"
#include "util/buf.h"
#include "xlsx/xlsx_int.h"

typedef __int128 i128;

#define US_PER_DAY 86400000000LL
#define MS_PER_DAY 86400000LL
#define MAX_ORDINAL 3652059LL /* 9999-12-31 */
#define MAX_TD_DAYS 999999999LL

/* ---- proleptic Gregorian calendar, Python ordinals (0001-01-01 = 1) ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 + 719163; /* to Python ordinal */
}

static void civil_from_days(int64_t ord, int *y, int *m, int *d)
{
    int64_t z = ord - 719163 + 719468, era, doe, yoe, doy, mp;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

static int64_t floor_div(i128 a, int64_t b)
{
    i128 q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return (int64_t)q;
}

/* Python's divmod(x, 1.0) for a float. */
static void py_divmod1(double x, double *div_out, double *mod_out)
{
    double mod = fmod(x, 1.0), div = x - mod, floordiv;
    if (mod != 0.0) {
        if (mod < 0) {
            mod += 1.0;
            div -= 1.0;
        }
    } else {
        mod = copysign(0.0, 1.0);
    }
    if (div != 0.0) {
        floordiv = floor(div);
        if (div - floordiv > 0.5)
            floordiv += 1.0;
    } else {
        floordiv = copysign(0.0, x);
    }
    *div_out = floordiv;
    *mod_out = mod;
}

/* ---- CPython's timedelta constructor ---- */

/* accum() of delta_new for a float argument; -1 when Python raises. */
static int td_accum(double value, double factor, i128 *sum, double *leftover)
{
    double ip, fp;
    if (!isfinite(value))
        return -1;
    fp = modf(value, &ip);
    if (fabs(ip) * factor > 1e30)
        return -1; /* far past the day limit: OverflowError */
    *sum += (i128)ip * (i128)factor;
    if (fp == 0.0)
        return 0;
    fp = modf(fp * factor, &ip);
    *sum += (i128)ip;
    *leftover += fp;
    return 0;
}

/* The end of delta_new: round the leftover half-even into x, check range. */
static int td_finish(i128 *x, double leftover)
{
    int64_t days;
    if (leftover != 0.0) {
        double whole = round(leftover);
        if (fabs(whole - leftover) == 0.5) {
            int odd = (int)(*x & 1);
            whole = 2.0 * round((leftover + odd) * 0.5) - odd;
        }
        *x += (i128)(long)whole;
    }
    days = floor_div(*x, US_PER_DAY);
    return days < -MAX_TD_DAYS || days > MAX_TD_DAYS ? -1 : 0;
}

/* Correctly rounded x / 10**6 (Python's int / int), via decimal text. */
static double us_to_seconds(i128 x)
{
    char digits[64], text[80];
    int n = 0, neg = x < 0, k, o = 0;
    unsigned __int128 u =
        neg ? (unsigned __int128)(-(x + 1)) + 1 : (unsigned __int128)x;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (n < 7)
        digits[n++] = '0';
    if (neg)
        text[o++] = '-';
    for (k = n - 1; k >= 6; k--)
        text[o++] = digits[k];
    text[o++] = '.';
    for (k = 5; k >= 0; k--)
        text[o++] = digits[k];
    text[o] = '\0';
    return strtod(text, NULL);
}

static void set_value_error(struct sk_xlsx_value *v)
{
    memset(v, 0, sizeof *v);
    v->kind = SK_XLSX_STRING;
    v->is_error = 1;
    v->str = "#VALUE!";
    v->len = 7;
}

static void set_timedelta(struct sk_xlsx_value *v, i128 x)
{
    int64_t days = floor_div(x, US_PER_DAY);
    int64_t rem = (int64_t)(x - (i128)days * US_PER_DAY);
    memset(v, 0, sizeof *v);
    v->kind = SK_XLSX_TIMEDELTA;
    v->td_days = days;
    v->td_seconds = (int)(rem / 1000000);
    v->td_usec = (int)(rem % 1000000);
}

static void set_time_of_day(struct sk_xlsx_value *v, int64_t us)
{
    v->hour = (int)(us / 3600000000LL);
    v->minute = (int)(us / 60000000LL % 60);
    v->second = (int)(us / 1000000 % 60);
    v->usec = (int)(us % 1000000);
}

/* datetime from microseconds since 0001-01-01 00:00. */
static void set_datetime(struct sk_xlsx_value *v, int64_t us, int kind)
{
    int64_t ord = us / US_PER_DAY + 1;
    memset(v, 0, sizeof *v);
    v->kind = kind;
    civil_from_days(ord, &v->year, &v->month, &v->day);
    if (kind != SK_XLSX_DATE)
        set_time_of_day(v, us % US_PER_DAY);
}

void sk_xlsx_from_excel(double value, int is_int, int date1904, int timedelta,
                        struct sk_xlsx_value *v)
{
    double day, frac, ms;
    int64_t epoch =
        date1904 ? days_from_civil(1904, 1, 1) : days_from_civil(1899, 12, 30);
    int64_t ord, diff_days, diff_ms;
    i128 total;

    if (timedelta) {
        double left = 0.0;
        i128 x = 0;
        if (td_accum(value, (double)US_PER_DAY, &x, &left) != 0 ||
            td_finish(&x, left) != 0)
            goto value_error;
        if (x % 1000000 != 0) {
            /* openpyxl keeps milliseconds: floor the seconds, round the
             * microseconds half-even to thousands. */
            int64_t us = (int64_t)(x - (i128)floor_div(x, 1000000) * 1000000);
            int64_t q = us / 1000, r = us % 1000;
            double secs = floor(us_to_seconds(x));
            if (r > 500 || (r == 500 && (q & 1)))
                q++;
            x = (i128)secs * 1000000 + q * 1000;
            if (td_finish(&x, 0.0) != 0)
                goto value_error;
        }
        set_timedelta(v, x);
        return;
    }
    if (is_int) {
        day = value;
        frac = 0.0;
    } else {
        py_divmod1(value, &day, &frac);
    }
    ms = frac * 86400.0 * 1000.0;
    if (!isfinite(ms) || !isfinite(day))
        goto value_error;
    ms = nearbyint(ms);
    diff_days = ms >= (double)MS_PER_DAY ? 1 : 0;
    diff_ms = (int64_t)ms - diff_days * MS_PER_DAY;
    if (value >= 0 && value < 1 && diff_days == 0) {
        memset(v, 0, sizeof *v);
        v->kind = SK_XLSX_TIME;
        set_time_of_day(v, diff_ms * 1000);
        return;
    }
    if (!date1904 && value > 0 && value < 60)
        day += 1;
    if (fabs(day) > (double)MAX_TD_DAYS)
        goto value_error;
    ord = epoch + (int64_t)day;
    if (ord < 1 || ord > MAX_ORDINAL)
        goto value_error;
    total = (i128)(ord - 1) * US_PER_DAY + (i128)diff_days * US_PER_DAY +
            (i128)diff_ms * 1000;
    if (total / US_PER_DAY + 1 > MAX_ORDINAL)
        goto value_error;
    set_datetime(v, (int64_t)total, SK_XLSX_DATETIME);
    return;
value_error:
    set_value_error(v);
}

/* ---- ISO 8601 (t="d" cells) ---- */

static int digits_at(const char *s, size_t n, size_t at, size_t k)
{
    size_t i;
    if (at + k > n)
        return 0;
    for (i = 0; i < k; i++)
        if (s[at + i] < '0' || s[at + i] > '9')
            return 0;
    return 1;
}

static int num_at(const char *s, size_t at, size_t k)
{
    int v = 0;
    size_t i;
    for (i = 0; i < k; i++)
        v = v * 10 + (s[at + i] - '0');
    return v;
}

/*
 * The PT<h>H<m>M<s>S duration form (each part optional, seconds with up to
 * three decimals), matched at the start as re.match does; SK_EPARSE when no
 * part matches.
 */
static int iso_duration(const char *s, size_t n, int64_t *us)
{
    static const double factor[3] = {3600e6, 60e6, 1e6};
    static const char unit[3] = {'H', 'M', 'S'};
    double part[3] = {0, 0, 0}; /* hours, minutes, seconds */
    size_t i = 2;
    int k, any = 0;
    i128 x = 0;
    double left = 0.0;
    char tmp[48];
    if (n < 2 || s[0] != 'P' || s[1] != 'T')
        return SK_EPARSE;
    for (k = 0; k < 3; k++) {
        size_t j = i, end;
        while (j < n && s[j] >= '0' && s[j] <= '9')
            j++;
        if (j == i)
            continue;
        end = j;
        if (k == 2 && j < n && s[j] == '.') {
            size_t f = j + 1;
            while (f < n && s[f] >= '0' && s[f] <= '9')
                f++;
            if (f - j - 1 >= 1 && f - j - 1 <= 3)
                end = f;
        }
        if (end >= n || s[end] != unit[k])
            continue;
        if (end - i >= sizeof tmp)
            return SK_EPARSE; /* far past the day limit anyway */
        memcpy(tmp, s + i, end - i);
        tmp[end - i] = '\0';
        part[k] = strtod(tmp, NULL);
        any = 1;
        i = end + 1;
    }
    if (!any)
        return SK_EPARSE;
    /* delta_new accumulates seconds, then minutes, then hours. */
    for (k = 2; k >= 0; k--)
        if (part[k] != 0.0 && td_accum(part[k], factor[k], &x, &left) != 0)
            return SK_EPARSE;
    if (td_finish(&x, left) != 0 || x > INT64_MAX || x < INT64_MIN)
        return SK_EPARSE;
    *us = (int64_t)x;
    return SK_OK;
}

int xlsx_iso8601(const char *s, size_t n, uint8_t *kind, int64_t *us)
{
    size_t i = 0;
    int have_date = 0, have_time = 0;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    int64_t usec = 0;

    if (digits_at(s, n, 0, 4) && n > 4 && s[4] == '-' &&
        digits_at(s, n, 5, 2) && n > 7 && s[7] == '-' &&
        digits_at(s, n, 8, 2)) {
        have_date = 1;
        y = num_at(s, 0, 4);
        mo = num_at(s, 5, 2);
        d = num_at(s, 8, 2);
        i = 10;
    }
    if (i < n && s[i] == 'T')
        i++;
    if (digits_at(s, n, i, 2) && i + 2 < n && s[i + 2] == ':' &&
        digits_at(s, n, i + 3, 2)) {
        have_time = 1;
        h = num_at(s, i, 2);
        mi = num_at(s, i + 3, 2);
        i += 5;
        if (i < n && s[i] == ':' && digits_at(s, n, i + 1, 2)) {
            sec = num_at(s, i + 1, 2);
            i += 3;
            if (i < n && s[i] == '.' && digits_at(s, n, i + 1, 1)) {
                char tmp[8];
                size_t f = i + 1;
                while (f < n && f < i + 4 && s[f] >= '0' && s[f] <= '9')
                    f++;
                memcpy(tmp, s + i, f - i);
                tmp[f - i] = '\0';
                usec = (int64_t)(strtod(tmp, NULL) * 1000000.0);
            }
        }
    }
    if (!have_date && !have_time)
        return iso_duration(s, n, us) == SK_OK ? (*kind = XC_ISO_TD, SK_OK)
                                               : SK_EPARSE;
    if (have_time && (h > 23 || mi > 59 || sec > 59))
        return SK_EPARSE;
    if (have_date &&
        (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)))
        return SK_EPARSE;
    {
        int64_t tod = ((int64_t)h * 3600 + mi * 60 + sec) * 1000000 + usec;
        if (!have_date) {
            *kind = XC_ISO_TIME;
            *us = tod;
        } else {
            int64_t day0 = (days_from_civil(y, mo, d) - 1) * US_PER_DAY;
            *kind = have_time ? XC_ISO_DT : XC_ISO_DATE;
            *us = day0 + (have_time ? tod : 0);
        }
    }
    return SK_OK;
}

/* ---- number formats ---- */

static size_t first_section(const char *fmt)
{
    const char *semi = strchr(fmt, ';');
    return semi ? (size_t)(semi - fmt) : strlen(fmt);
}

/* Whether s[0..n) at i starts with "h]", "hh]", "m]", "mm]", "s]", "ss]"
 * (case as given: fold 1 compares case-insensitively). */
static int elapsed_at(const char *s, size_t n, size_t i, int fold)
{
    char c;
    if (i >= n)
        return 0;
    c = s[i];
    if (fold && c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
    if (c != 'h' && c != 'm' && c != 's')
        return 0;
    if (i + 1 < n && s[i + 1] == ']')
        return 1;
    if (i + 2 < n && s[i + 2] == ']') {
        char c2 = s[i + 1];
        if (fold && c2 >= 'A' && c2 <= 'Z')
            c2 = (char)(c2 - 'A' + 'a');
        return c2 == c;
    }
    return 0;
}

int sk_xlsx_is_date_format(const char *fmt)
{
    size_t n, i = 0;
    int prev = -1;
    if (!fmt)
        return 0;
    n = first_section(fmt);
    while (i < n) {
        char c = fmt[i];
        if (c == '"') {
            /* ".*?" : the next quote before a newline */
            size_t j = i + 1;
            while (j < n && fmt[j] != '"' && fmt[j] != '\n')
                j++;
            if (j < n && fmt[j] == '"') {
                i = j + 1;
                continue;
            }
        } else if (c == '[' && !elapsed_at(fmt, n, i + 1, 0)) {
            const char *close = memchr(fmt + i + 1, ']', n - i - 1);
            if (close) {
                i = (size_t)(close - fmt) + 1;
                continue;
            }
        }
        if (c && prev != -1 && prev != '\\' && strchr("dmhysDMHYS", c))
            return 1;
        prev = (unsigned char)c;
        i++;
    }
    return 0;
}

int sk_xlsx_is_timedelta_format(const char *fmt)
{
    size_t n, i;
    if (!fmt)
        return 0;
    n = first_section(fmt);
    for (i = 0; i < n; i++)
        if (fmt[i] == '[' && elapsed_at(fmt, n, i + 1, 1))
            return 1;
    return 0;
}

/* ---- values ---- */

void xlsx_cell_value(const struct sk_xlsx *x, const struct xlsx_sheet *sh,
                     const struct xlsx_cell *c, struct sk_xlsx_value *v)
{
    memset(v, 0, sizeof *v);
    switch (c->kind) {
    case XC_INT:
        v->kind = SK_XLSX_NUMBER;
        v->is_int = 1;
        v->num = c->u.num;
        v->str = sh->arena.data + c->off;
        v->len = c->len;
        break;
    case XC_FLOAT:
        v->kind = SK_XLSX_NUMBER;
        v->num = c->u.num;
        break;
    case XC_BOOL:
        v->kind = SK_XLSX_BOOL;
        v->b = c->u.num != 0.0;
        break;
    case XC_SST:
        v->kind = SK_XLSX_STRING;
        v->str = x->sst.data + x->sst_off[c->off];
        v->len = (c->off + 1 < x->nsst ? x->sst_off[c->off + 1] : x->sst.len) -
                 x->sst_off[c->off] - 1;
        break;
    case XC_TEXT:
    case XC_ERROR:
        v->kind = SK_XLSX_STRING;
        v->is_error = c->kind == XC_ERROR;
        v->str = sh->arena.data + c->off;
        v->len = c->len;
        break;
    case XC_SERIAL:
        sk_xlsx_from_excel(c->u.num, (c->flags & XC_F_INTSERIAL) != 0,
                           x->date1904, (c->flags & XC_F_TIMEDELTA) != 0, v);
        break;
    case XC_ISO_DT:
        set_datetime(v, c->u.us, SK_XLSX_DATETIME);
        break;
    case XC_ISO_DATE:
        set_datetime(v, c->u.us, SK_XLSX_DATE);
        break;
    case XC_ISO_TIME:
        v->kind = SK_XLSX_TIME;
        set_time_of_day(v, c->u.us);
        break;
    case XC_ISO_TD:
        set_timedelta(v, c->u.us);
        break;
    default:
        v->kind = SK_XLSX_NONE;
        break;
    }
    v->has_formula = (c->flags & XC_F_FORMULA) != 0;
}

static int put_float(double d, struct sk_buf *out)
{
    struct sk_pylit lit;
    memset(&lit, 0, sizeof lit);
    lit.kind = SK_PYLIT_FLOAT;
    lit.f = d;
    return sk_pylit_repr(&lit, out);
}

int sk_xlsx_value_repr(const struct sk_xlsx_value *v, struct sk_buf *out)
{
    switch (v->kind) {
    case SK_XLSX_NONE:
        return sk_buf_puts(out, "None");
    case SK_XLSX_NUMBER:
        return v->is_int ? sk_buf_append(out, v->str, v->len)
                         : put_float(v->num, out);
    case SK_XLSX_BOOL:
        return sk_buf_puts(out, v->b ? "True" : "False");
    case SK_XLSX_STRING:
        return sk_score_py_repr(v->str, v->len, out);
    case SK_XLSX_DATE:
        return sk_buf_printf(out, "datetime.date(%d, %d, %d)", v->year,
                             v->month, v->day);
    case SK_XLSX_DATETIME:
        if (v->usec)
            return sk_buf_printf(out,
                                 "datetime.datetime(%d, %d, %d, %d, %d, "
                                 "%d, %d)",
                                 v->year, v->month, v->day, v->hour, v->minute,
                                 v->second, v->usec);
        if (v->second)
            return sk_buf_printf(
                out, "datetime.datetime(%d, %d, %d, %d, %d, %d)", v->year,
                v->month, v->day, v->hour, v->minute, v->second);
        return sk_buf_printf(out, "datetime.datetime(%d, %d, %d, %d, %d)",
                             v->year, v->month, v->day, v->hour, v->minute);
    case SK_XLSX_TIME:
        if (v->usec)
            return sk_buf_printf(out, "datetime.time(%d, %d, %d, %d)", v->hour,
                                 v->minute, v->second, v->usec);
        if (v->second)
            return sk_buf_printf(out, "datetime.time(%d, %d, %d)", v->hour,
                                 v->minute, v->second);
        return sk_buf_printf(out, "datetime.time(%d, %d)", v->hour, v->minute);
    case SK_XLSX_TIMEDELTA: {
        size_t mark = out->len;
        int rc = sk_buf_puts(out, "datetime.timedelta(");
        const char *sep = "";
        if (rc == SK_OK && v->td_days) {
            rc = sk_buf_printf(out, "days=%lld", (long long)v->td_days);
            sep = ", ";
        }
        if (rc == SK_OK && v->td_seconds) {
            rc = sk_buf_printf(out, "%sseconds=%d", sep, v->td_seconds);
            sep = ", ";
        }
        if (rc == SK_OK && v->td_usec)
            rc = sk_buf_printf(out, "%smicroseconds=%d", sep, v->td_usec);
        if (rc == SK_OK && !v->td_days && !v->td_seconds && !v->td_usec)
            rc = sk_buf_putc(out, '0');
        if (rc == SK_OK)
            rc = sk_buf_putc(out, ')');
        if (rc != SK_OK)
            sk_buf_truncate(out, mark);
        return rc;
    }
    }
    return SK_EINVAL;
}
