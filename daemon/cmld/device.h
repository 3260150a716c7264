/*
 * The device (device.c): its settings as the running daemon applies them.
 */
#ifndef CMLD_DEVICE_H
#define CMLD_DEVICE_H

struct cmld;

/* Applies a stored setting's canonical value to the running daemon. */
void device_apply_setting(struct cmld *cmld, const char *key,
    const char *value);
/* Loads every setting from the store and applies it; -1 on error. */
int device_load_settings(struct cmld *cmld, char **cause);

#endif
