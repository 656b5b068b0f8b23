/*
 * Small JSON text helpers shared by the nginx glue and the daemon.
 *
 * spectra_json_escape() writes a JSON string body (no surrounding quotes):
 * '"', '\\' and control characters are escaped, bytes >= 0x80 are copied
 * as they are (the input is expected to be UTF-8; invalid sequences are
 * replaced by U+FFFD so that the output is always valid JSON).
 */

#ifndef SPECTRA_JSON_H
#define SPECTRA_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bytes spectra_json_escape() will write for this input. */
size_t spectra_json_escape_len(const u_char *src, size_t len);

/* Writes the escaped form of src into dst; returns the end of the output. */
u_char *spectra_json_escape(u_char *dst, const u_char *src, size_t len);

#endif /* SPECTRA_JSON_H */
