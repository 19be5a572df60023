#ifndef STOREINGEST_CZSTD_SHIM_H
#define STOREINGEST_CZSTD_SHIM_H
#include <zstd.h>
#include <zstd_errors.h>
#endif
