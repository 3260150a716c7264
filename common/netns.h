/*
 * Network namespaces by descriptor: entering one for a moment (to make a
 * socket that then belongs to it, or to clone a process into it) and
 * coming back, and making a new one that the caller does not stay in.
 * Only the calling thread changes namespace.
 */
#ifndef CML_NETNS_H
#define CML_NETNS_H

/*
 * Enters the network namespace nsfd refers to, keeping the thread's own
 * in *self (-1, and nothing done, when nsfd is -1).  0, or -1 with a
 * cause.
 */
int netns_enter(int nsfd, int *self, char **cause);
/*
 * Returns to the namespace netns_enter kept in self (-1: nothing to do)
 * and closes it; errno is kept.  Going on in another namespace would put
 * everything after it in the wrong place, so failing to return ends the
 * process.
 */
void netns_leave(int self);
/*
 * Makes a new network namespace (holding only lo, down) and returns a
 * descriptor of it; the caller stays in its own.  -1 with a cause.
 */
int netns_new(char **cause);

#endif
