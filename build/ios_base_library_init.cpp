// GCC 13's libstdc++ exports std::ios_base_library_init() (version GLIBCXX_3.4.32) and code built with GCC 13
// calls it to make sure the standard streams are initialised. Older libstdc++ initialises them through
// std::ios_base::Init, which is what this definition does. See patch-libtorchsharp.sh.
#include <ios>

namespace std
{
__attribute__((visibility("default"))) void ios_base_library_init()
{
    static ios_base::Init init;
}
}
