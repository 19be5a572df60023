import Chunks
import RRD
import Store
// StoreHub, EntityDb and workers live in this module (see issue 4).
