/* fdguard: keeps the trace's descriptor alive while the program closes or
 * reuses descriptors.  Interposes close, close_range, closefrom, dup2 and
 * dup3: the program gets the result it would get if our descriptor were
 * free (EBADF for a close of it; dup2/dup3 onto its number moves the trace
 * elsewhere first and then succeeds).  Thread-safe. */
#ifndef HT_FDGUARD_H
#define HT_FDGUARD_H

/* The trace descriptor the guard protects: ht_rec.fd while recording in
 * this process, else -1. */
int fdguard_trace_fd(void);

#endif /* HT_FDGUARD_H */
