#if LIVE_SERVER
import IngestServer
#endif
