/*
 * host_settings.h - what vf_host_api_t offers plugins for their config
 * groups (videoflix/plugin.h, "the settings helper"): the table walker, its
 * free, the same message format for a plugin's own checks, and secrets read
 * from the environment or a file with the reason when they cannot be.
 * Owns: the one "<file>:<line>: <plugin>: <problem>" format of plugin
 * settings messages.
 * Must not: know any plugin's settings (they come as tables).
 */
#ifndef VF_HOST_SETTINGS_H
#define VF_HOST_SETTINGS_H

#include <videoflix/plugin.h>

/* host->error: fill err (may be NULL) and return -abs(code), -EIO for 0. */
int vf_host_error(vf_error_t *err, int code, const char *fmt, ...) VF_PRINTF(3, 4);
int vf_host_settings(const char *plugin, const config_setting_t *group, const vf_setting_t *table, size_t n,
                     void *out, vf_error_t *err);
void vf_host_settings_free(const vf_setting_t *table, size_t n, void *out);
int vf_host_setting_error(const char *plugin, const config_setting_t *group, const char *name, vf_error_t *err,
                          int code, const char *fmt, ...) VF_PRINTF(6, 7);
int vf_host_read_secret(const char *env, const char *file, char **out, vf_error_t *err);


#endif
