# Use ccache when present. The sloppiness settings let ccache cache translation units that use
# precompiled headers (see docs/benchmarks.md for the measured effect).
#
# A checkout at another path (CI clones afresh) reuses the cache: CCACHE_BASEDIR makes the paths
# under the source tree relative in what ccache hashes, CCACHE_NOHASHDIR leaves the working
# directory out of the hash, and -fdebug-prefix-map keeps that directory out of the debug info
# (file names in it are relative to the source tree, so the objects do not depend on the path).
find_program(FLEET_CCACHE ccache)
if(FLEET_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      CCACHE_BASEDIR=${CMAKE_SOURCE_DIR} CCACHE_NOHASHDIR=true
      ${FLEET_CCACHE})
  add_compile_options(-fdebug-prefix-map=${CMAKE_SOURCE_DIR}=.)
endif()
