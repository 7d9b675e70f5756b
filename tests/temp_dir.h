// A fresh directory per test, removed afterwards: tests that write files
// derive their fixture from TempDirTest and put everything under dir_.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // pid and test name: parallel ctest runs never share a directory.
    dir_ = std::filesystem::temp_directory_path() /
           ("kormo_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes dir_/name with `text`; returns its path.
  std::string write(const std::string& name, const std::string& text) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

  std::filesystem::path dir_;
};
