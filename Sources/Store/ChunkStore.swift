import Chunks
// The per-store chunk index lives in this module (see issue 6).
