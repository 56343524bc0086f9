/* change.h - what a change record commits to: the digest sb-validate stamps and sb-deploy checks */
#ifndef SB_CHANGE_H
#define SB_CHANGE_H

#include <jv.h>

#include "hash.h"

/*
 * The SHA-256 (hex) of the canonical form of a change (borrowed): a version
 * tag, its component, tenant, scope and requires_approval (so the approval
 * gate cannot be edited away after validation), then its files sorted by path, each as
 * path, action, content and base_sha256; every field as a presence byte, an
 * 8-byte big-endian length and its bytes. Exactly what would be deployed,
 * and where, and nothing else: rationale, usage or key order do not count.
 */
void sb_change_digest(jv change, char hex[SB_SHA256_HEX]);

#endif
