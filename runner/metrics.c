/* The metric table as data (contract in metrics.h). */
#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

const mg_metric_info mg_metrics[MG_M_COUNT] = {
#define MG_METRIC_ROW_(ID, FIELD, UNIT, LIMIT, BUDGET, CLI, ARG, DEFAULT, LABEL, NEG, LINE,    \
                       PAIR, TRACES, HTML, BASE, TOL, TOLPCT, SINCE, HELP)                     \
    [ID] = {ID,     #FIELD, UNIT,   (BUDGET) ? #LIMIT : NULL, CLI,  ARG,  DEFAULT, LABEL,     \
            (NEG) != 0, LINE, PAIR, TRACES, (HTML) != 0, (BASE) != 0, TOL, TOLPCT, SINCE, HELP},
    MG_METRICS(MG_METRIC_ROW_)
#undef MG_METRIC_ROW_
};

const char *mg_metric_name(mg_metric id) {
    return mg_metrics[id].budget_key ? mg_metrics[id].budget_key : mg_metrics[id].key;
}

int mg_metric_by_key(const char *name, bool match_budget) {
    if (!name) return -1;
    for (int m = 0; m < MG_M_COUNT; m++) {
        const char *k = match_budget ? mg_metric_name((mg_metric)m) : mg_metrics[m].key;
        if (strcmp(k, name) == 0) return m;
    }
    return -1;
}

void mg_metric_format(mg_metric id, int64_t v, char *buf, size_t len) {
    if (mg_metric_bytes(id))
        mg_format_size(v, buf, len);
    else
        snprintf(buf, len, "%" PRId64, v);
}

void mg_metric_budget_keys(char *buf, size_t len, const char *const *extra) {
    const char *names[MG_M_COUNT + 16];
    size_t n = 0;
    for (int m = 0; m < MG_M_COUNT; m++)
        if (mg_metrics[m].budget_key) names[n++] = mg_metrics[m].budget_key;
    for (size_t i = 0; extra && extra[i] && n < sizeof names / sizeof names[0]; i++)
        names[n++] = extra[i];
    size_t o = 0;
    if (len) buf[0] = '\0';
    for (size_t i = 0; i < n && o < len; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        int w = snprintf(buf + o, len - o, "%s%s", sep, names[i]);
        if (w < 0) break;
        o += (size_t)w;
    }
}
