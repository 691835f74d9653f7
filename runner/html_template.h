/* The HTML report template (templates/report.html), compiled into the runner by
 * cmake/embed.cmake; report_html.c fills its "<!--mg:NAME-->" markers. */
#ifndef MEMGATE_RUNNER_HTML_TEMPLATE_H
#define MEMGATE_RUNNER_HTML_TEMPLATE_H

#include <stddef.h>

/* The template's bytes followed by a NUL; mg__html_template_len excludes the NUL. */
extern const unsigned char mg__html_template[];
extern const size_t mg__html_template_len;

#endif
