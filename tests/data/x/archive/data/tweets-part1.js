window.YTD.tweets.part1 = [
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1790000000000000103"
          ],
          "editableUntil" : "2024-06-01T10:00:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "52"
      ],
      "favorite_count" : "12",
      "id_str" : "1790000000000000103",
      "truncated" : false,
      "retweet_count" : "2",
      "id" : "1790000000000000103",
      "created_at" : "Fri Jun 21 15:45:00 +0000 2024",
      "favorited" : false,
      "full_text" : "Quick poll: do you track where your calls come from?",
      "lang" : "en"
    }
  }
]