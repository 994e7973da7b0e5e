# Small helpers in the manner of Abseil's absl_cc_library / Tink's tink_cc_library: one folder
# is one library, aliased as tokend::<name>, with every dependency listed explicitly.
include_guard(GLOBAL)

# tokend_cc_library(NAME foo SRCS a.cc HDRS a.h DEPS tokend::bar absl::status)
function(tokend_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  set(target tokend_${ARG_NAME})
  if(ARG_SRCS)
    add_library(${target} STATIC ${ARG_SRCS} ${ARG_HDRS})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
    target_link_libraries(${target} PUBLIC ${ARG_DEPS})
    target_compile_options(${target} PRIVATE ${TOKEND_WARNINGS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
  endif()
  add_library(tokend::${ARG_NAME} ALIAS ${target})
endfunction()

# tokend_cc_test(NAME foo_test SRCS foo_test.cc DEPS tokend::foo LABELS unit)
function(tokend_cc_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT TOKEND_BUILD_TESTS)
    return()
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  target_compile_options(${ARG_NAME} PRIVATE ${TOKEND_WARNINGS})
  # Paths also as compile definitions: a list in ENVIRONMENT would be split at its ';'.
  target_compile_definitions(${ARG_NAME} PRIVATE
    TOKEND_SOURCE_DIR_PATH="${PROJECT_SOURCE_DIR}" TOKEND_BINARY_DIR_PATH="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${ARG_NAME}
    PROPERTIES LABELS "${ARG_LABELS}"
    ENVIRONMENT "TOKEND_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
    DISCOVERY_TIMEOUT 60)
endfunction()

# tokend_cc_binary(NAME foo SRCS main.cc DEPS tokend::bar [LINK_OPTIONS ...])
function(tokend_cc_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LINK_OPTIONS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
  target_compile_options(${ARG_NAME} PRIVATE ${TOKEND_WARNINGS})
  if(ARG_LINK_OPTIONS)
    target_link_options(${ARG_NAME} PRIVATE ${ARG_LINK_OPTIONS})
  endif()
endfunction()
