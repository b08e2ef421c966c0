module github.com/sluiceio/sluice

go 1.24
