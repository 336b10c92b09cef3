#include "CTopologyShims.h"
