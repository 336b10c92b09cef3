// Placeholder until the server lands (issue 4).
#pragma once
