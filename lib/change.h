/* change.h - what a change record commits to: the digest sb-validate stamps and sb-deploy checks */
#ifndef SB_CHANGE_H
#define SB_CHANGE_H

#include <jv.h>

#include "hash.h"

/*
 * The SHA-256 (hex) of the canonical form of a change's files (borrowed
 * array of {path, action, content, base_sha256}): the files sorted by path,
 * each as path, action, content and base_sha256 (absent ones empty), every
 * field followed by a NUL byte. Exactly the bytes that would be deployed,
 * and nothing else: rationale, usage or key order do not count.
 */
void sb_change_digest(jv files, char hex[SB_SHA256_HEX]);

#endif
