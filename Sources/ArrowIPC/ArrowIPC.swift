// The Arrow IPC stream reader lives in this module (see issue 3).
