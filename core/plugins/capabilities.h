/*
 * capabilities.h - what a loaded plugin can do, asked once at load time:
 * the plugin's own answer (ABI 1.1 capabilities op) or, for a plugin
 * without one, what 1.0 implied.  The rest of the core reads these instead
 * of guessing from the operations.
 * Owns: the 1.0 fallbacks and the sanity checks of a plugin's answer.
 * Must not: call any other operation than capabilities (and, for a 1.0
 * storage plugin, the one local_path probe 1.0 callers made).
 */
#ifndef VF_CAPABILITIES_H
#define VF_CAPABILITIES_H

#include <stddef.h>
#include <videoflix/encoder.h>
#include <videoflix/storage.h>

/* Fill *caps for the storage plugin whose ops and state are given.  0, or
 * -EPROTO with a message (without the file name) in err. */
int vf_storage_caps_read(const vf_storage_ops_t *ops, void *state, vf_storage_caps_t *caps, char *err,
                         size_t errlen);
int vf_encoder_caps_read(const vf_encoder_ops_t *ops, void *state, vf_encoder_caps_t *caps, char *err,
                         size_t errlen);

#endif
