#ifndef EWSF_CSPAWN_H
#define EWSF_CSPAWN_H

#include <spawn.h>

/// glibc's GNU extensions to posix_spawn file actions, which Swift's Glibc module does not
/// export (they need _GNU_SOURCE): close every descriptor from `lowfd` up, and change directory.
/// Both return 0 or an errno value, like the functions they wrap.
int ewsf_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowfd);
int ewsf_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

#endif
