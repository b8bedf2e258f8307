# Third-party libraries, all from Debian 12 packages (scripts/install-deps.sh). See
# ../shared/reference/cpp-libraries.md for why each is wired the way it is.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)

# libpqxx 6.4 ships no CMake package. Debian's build leaves std::optional support off; switch it on
# so NULL columns read as std::nullopt.
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)  # PQconninfoParse, used directly
add_library(fleet_pqxx INTERFACE)
target_link_libraries(fleet_pqxx INTERFACE PkgConfig::PQXX PkgConfig::LIBPQ)
target_compile_definitions(fleet_pqxx INTERFACE PQXX_HAVE_OPTIONAL)
add_library(fleet::pqxx ALIAS fleet_pqxx)

# cpp-httplib is a compiled library in Debian: its pkg-config flags change class layouts and must be
# used by every translation unit that includes httplib.h.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
add_library(fleet::httplib ALIAS PkgConfig::HTTPLIB)

pkg_check_modules(MOSQUITTO REQUIRED IMPORTED_TARGET libmosquitto)
add_library(fleet::mosquitto ALIAS PkgConfig::MOSQUITTO)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
add_library(fleet::sodium ALIAS PkgConfig::SODIUM)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
add_library(fleet::curl ALIAS PkgConfig::CURL)

if(FLEET_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
  include(Catch)
endif()
