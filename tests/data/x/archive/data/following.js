window.YTD.following.part0 = [
  {
    "following" : {
      "accountId" : "1200000000000104729",
      "userLink" : "https://twitter.com/intent/user?user_id=1200000000000104729"
    }
  }
]
