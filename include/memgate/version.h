/* memgate version numbers. Same major version = compatible API and report schema. */
#ifndef MEMGATE_VERSION_H
#define MEMGATE_VERSION_H

#define MEMGATE_VERSION_MAJOR 0
#define MEMGATE_VERSION_MINOR 1
#define MEMGATE_VERSION_PATCH 0
#define MEMGATE_VERSION_STRING "0.1.0"

/* Version of the JSON report document ("schema_version"). */
#define MEMGATE_REPORT_SCHEMA_VERSION 2

#endif
